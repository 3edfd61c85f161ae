package memory

import (
	"context"
	"sync"
	"time"

	"gatehouse/realtime"
)

// history keeps channel histories newest first, in the process.
type history struct {
	mu sync.Mutex
	m  map[realtime.ChannelKey][]realtime.HistoryEvent
}

// HistoryAppend implements realtime.Backplane.
func (b *Backplane) HistoryAppend(_ context.Context, key realtime.ChannelKey, ev realtime.HistoryEvent, limit int, _ time.Duration) error {
	h := &b.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[realtime.ChannelKey][]realtime.HistoryEvent{}
	}
	evs := append([]realtime.HistoryEvent{ev}, h.m[key]...)
	if len(evs) > limit {
		evs = evs[:limit]
	}
	h.m[key] = evs
	return nil
}

// HistoryRange implements realtime.Backplane.
func (b *Backplane) HistoryRange(_ context.Context, key realtime.ChannelKey, limit int, before string, ttl time.Duration, now time.Time) ([]realtime.HistoryEvent, error) {
	h := &b.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	return realtime.SelectHistory(h.m[key], limit, before, ttl, now), nil
}
