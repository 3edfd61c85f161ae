package realtime

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// HistoryEvent is one event kept in a channel's history.
type HistoryEvent struct {
	// ID orders the events of a channel (Unix nanoseconds as a decimal
	// string); ?before= takes one.
	ID string `json:"id"`
	// Name is the event's name.
	Name string `json:"event"`
	Data string `json:"data"`
	// At is when it was published (Unix milliseconds).
	At int64 `json:"published_at"`
	// UserID is the sender of a client event on a presence channel.
	UserID string `json:"user_id,omitempty"`
}

// HistoryRule says how much of a channel's past is kept: the last Limit
// events, none older than TTL (0: no age limit).
type HistoryRule struct {
	Limit int
	TTL   time.Duration
}

// keepHistory appends msg to its channel's history when a rule covers it.
// History is a convenience for late joiners: a failure is logged, and the
// publish itself is not refused.
func (h *Hub) keepHistory(ctx context.Context, msg Message) {
	if h.cfg.History == nil {
		return
	}
	rule, ok := h.cfg.History(msg.App, msg.Channel)
	if !ok || rule.Limit <= 0 {
		return
	}
	now := h.cfg.Now()
	ev := HistoryEvent{ID: strconv.FormatInt(now.UnixNano(), 10), Name: msg.Name, Data: msg.Data, At: now.UnixMilli(), UserID: msg.UserID}
	if err := h.bp.HistoryAppend(ctx, ChannelKey{msg.App, msg.Channel}, ev, rule.Limit, rule.TTL); err != nil {
		h.log.WarnContext(ctx, "realtime: history append", "channel", msg.Channel, "err", err)
	}
}

// History returns up to limit of the channel's kept events older than
// before (all when before is ""), oldest first. A channel no rule covers
// has none.
func (h *Hub) History(ctx context.Context, app, channel string, limit int, before string) ([]HistoryEvent, error) {
	if h.cfg.History == nil {
		return []HistoryEvent{}, nil
	}
	rule, ok := h.cfg.History(app, channel)
	if !ok {
		return []HistoryEvent{}, nil
	}
	if limit <= 0 || limit > rule.Limit {
		limit = rule.Limit
	}
	evs, err := h.bp.HistoryRange(ctx, ChannelKey{app, channel}, limit, before, rule.TTL, h.cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("realtime: history: %w", err)
	}
	return evs, nil
}

// SelectHistory keeps, of events newest first, those older than before and
// younger than ttl, up to limit, and returns them oldest first.
func SelectHistory(newestFirst []HistoryEvent, limit int, before string, ttl time.Duration, now time.Time) []HistoryEvent {
	var b int64
	if before != "" {
		b, _ = strconv.ParseInt(before, 10, 64)
	}
	out := make([]HistoryEvent, 0, min(limit, len(newestFirst)))
	for _, ev := range newestFirst {
		id, _ := strconv.ParseInt(ev.ID, 10, 64)
		if before != "" && id >= b {
			continue
		}
		if ttl > 0 && now.Sub(time.UnixMilli(ev.At)) > ttl {
			break
		}
		out = append(out, ev)
		if len(out) == limit {
			break
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
