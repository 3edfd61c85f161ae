package realtime

import (
	"context"
	"errors"
	"fmt"
	"gatehouse/pusherproto"
)

// SubscribeResult is what a new subscriber learns, handed to the ack
// function of Subscribe.
type SubscribeResult struct {
	// Members lists a presence channel's members, the new one included.
	Members []Member
	// Cached is the last event of a cache channel, when one is kept.
	Cached *CachedEvent
	// CacheMiss is true on a cache channel that has no last event.
	CacheMiss bool
}

// Subscribe subscribes the registered connection c to channel of its app.
// member, when not nil, makes c a presence member (the limit is
// Limits.PresenceMembers; ErrPresenceFull when reached). ack runs with the
// result while the hub holds its lock, before any event of the channel can
// reach c, so the protocol can queue its confirmation first; ack must not
// block or call the hub. Subscribing twice to a channel acknowledges again
// and changes nothing. A connection already holding
// Limits.ChannelsPerConnection channels gets ErrTooManyChannels.
func (h *Hub) Subscribe(ctx context.Context, c Conn, channel string, member *Member, ack func(SubscribeResult)) error {
	h.mu.RLock()
	cs := h.conns[c.ID()]
	var app string
	var already bool
	var prev *Member
	if cs != nil {
		app = cs.app
		prev, already = cs.subs[channel]
	}
	full := cs != nil && !already && len(cs.subs) >= h.cfg.Limits.ChannelsPerConnection
	h.mu.RUnlock()
	if cs == nil || cs.c != c {
		return ErrUnknownConn
	}
	if full {
		h.Refused(RefusedChannelCap)
		return ErrTooManyChannels
	}
	key := ChannelKey{app, channel}
	var res SubscribeResult
	added := false
	if member != nil && !already {
		var err error
		added, err = h.bp.PresenceAdd(ctx, key, h.cfg.Node, c.ID(), *member, h.cfg.Limits.PresenceMembers)
		if err != nil {
			if errors.Is(err, ErrPresenceFull) {
				return err
			}
			return fmt.Errorf("realtime: presence add: %w", err)
		}
	}
	undo := func() {
		if member != nil && !already {
			h.leavePresence(ctx, key, c.ID(), member, false)
		}
	}
	if member != nil || prev != nil {
		ms, err := h.bp.PresenceMembers(ctx, key)
		if err != nil {
			undo()
			return fmt.Errorf("realtime: presence members: %w", err)
		}
		res.Members = ms
	}
	if pusherproto.IsCacheChannel(channel) {
		ev, ok, err := h.bp.CacheGet(ctx, key)
		if err != nil {
			h.log.WarnContext(ctx, "realtime: cache get", "channel", channel, "err", err)
		}
		if ok {
			res.Cached = &ev
		} else {
			res.CacheMiss = true
		}
	}

	// Interest first: once the client hears it is subscribed, every event
	// published to the channel from then on reaches this node.
	if err := h.bp.Watch(ctx, key); err != nil {
		undo()
		return fmt.Errorf("realtime: watch: %w", err)
	}
	h.mu.Lock()
	if h.conns[c.ID()] != cs || cs.subs == nil {
		h.mu.Unlock()
		h.bp.Unwatch(key)
		undo()
		return ErrUnknownConn
	}
	if _, ok := cs.subs[channel]; ok {
		ack(res)
		h.mu.Unlock()
		h.bp.Unwatch(key)
		return nil
	}
	cs.subs[channel] = member
	revoked := h.applyPendingLocked(cs, channel)
	subs := h.channels[key]
	if subs == nil {
		subs = make(map[string]Conn)
		h.channels[key] = subs
	}
	subs[c.ID()] = c
	ack(res)
	h.mu.Unlock()
	if revoked {
		c.Disconnect(ReasonRevoked)
	}

	total, err := h.bp.Occupy(ctx, key, h.cfg.Node, 1)
	if err != nil {
		h.log.WarnContext(ctx, "realtime: occupy", "channel", channel, "err", err)
	} else if total == 1 {
		h.notify(ctx, Lifecycle{Kind: ChannelOccupied, App: app, Channel: channel})
	}
	if added {
		env := Envelope{Kind: KindMemberAdded, Origin: h.cfg.Node, Message: Message{App: app, Channel: channel},
			UserID: member.UserID, UserInfo: member.UserInfo, Conn: c.ID()}
		if err := h.bp.Publish(ctx, env); err != nil {
			h.log.WarnContext(ctx, "realtime: publish member_added", "channel", channel, "err", err)
		}
		h.notify(ctx, Lifecycle{Kind: MemberAdded, App: app, Channel: channel, UserID: member.UserID})
	}
	return nil
}

// Unsubscribe removes c from channel. Unsubscribing from a channel c is not
// on does nothing.
func (h *Hub) Unsubscribe(ctx context.Context, c Conn, channel string) {
	h.mu.Lock()
	cs := h.conns[c.ID()]
	if cs == nil || cs.c != c || cs.subs == nil {
		h.mu.Unlock()
		return
	}
	m, ok := cs.subs[channel]
	if !ok {
		h.mu.Unlock()
		return
	}
	delete(cs.subs, channel)
	key := ChannelKey{cs.app, channel}
	h.removeSubLocked(key, c.ID())
	h.mu.Unlock()
	h.leave(ctx, key, c.ID(), m)
}

// Subscribed reports whether c is subscribed to channel.
func (h *Hub) Subscribed(c Conn, channel string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	cs := h.conns[c.ID()]
	if cs == nil || cs.c != c {
		return false
	}
	_, ok := cs.subs[channel]
	return ok
}

func (h *Hub) removeSubLocked(key ChannelKey, id string) {
	subs := h.channels[key]
	if _, ok := subs[id]; ok {
		h.bp.Unwatch(key)
	}
	delete(subs, id)
	if len(subs) == 0 {
		delete(h.channels, key)
	}
}

// leave tells the backplane that conn left key, after the local state is gone.
func (h *Hub) leave(ctx context.Context, key ChannelKey, conn string, m *Member) {
	total, err := h.bp.Occupy(ctx, key, h.cfg.Node, -1)
	if err != nil {
		h.log.WarnContext(ctx, "realtime: vacate", "channel", key.Channel, "err", err)
	}
	if m != nil {
		h.leavePresence(ctx, key, conn, m, true)
	}
	if err == nil && total == 0 {
		h.notify(ctx, Lifecycle{Kind: ChannelVacated, App: key.App, Channel: key.Channel})
	}
}

func (h *Hub) leavePresence(ctx context.Context, key ChannelKey, conn string, m *Member, announce bool) {
	removed, err := h.bp.PresenceRemove(ctx, key, h.cfg.Node, conn, m.UserID)
	if err != nil {
		h.log.WarnContext(ctx, "realtime: presence remove", "channel", key.Channel, "err", err)
		return
	}
	if !removed || !announce {
		return
	}
	env := Envelope{Kind: KindMemberRemoved, Origin: h.cfg.Node, Message: Message{App: key.App, Channel: key.Channel},
		UserID: m.UserID, Conn: conn}
	if err := h.bp.Publish(ctx, env); err != nil {
		h.log.WarnContext(ctx, "realtime: publish member_removed", "channel", key.Channel, "err", err)
	}
	h.notify(ctx, Lifecycle{Kind: MemberRemoved, App: key.App, Channel: key.Channel, UserID: m.UserID})
}
