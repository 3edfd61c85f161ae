package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/realtime"
)

// sep joins the parts of hash fields; no app id, channel, connection or
// node id holds a NUL byte.
const sep = "\x00"

func occField(key realtime.ChannelKey) string { return key.App + sep + key.Channel }

func connField(node, conn, user string) string { return node + sep + conn + sep + user }

func presenceIndexField(key realtime.ChannelKey, conn, user string) string {
	return key.App + sep + key.Channel + sep + conn + sep + user
}

// Occupy adds delta to node's subscriptions of key and returns the total.
// A node's count never goes below zero, so a late -1 from a node that was
// swept as dead cannot take the other nodes' subscriptions away.
func (b *Backplane) Occupy(ctx context.Context, key realtime.ChannelKey, node string, delta int) (int, error) {
	if b.closed.Load() {
		return 0, ErrClosed
	}
	b.shareRW.RLock()
	defer b.shareRW.RUnlock()
	// The node's own record changes even when Redis fails: the hub's local
	// subscription exists either way, and a replay makes Redis agree.
	b.recordOcc(node, key, delta)
	if err := b.ensureNode(ctx, node); err != nil {
		return 0, err
	}
	n, err := b.occupy(ctx, node, key, delta, "add", false)
	if err != nil {
		return 0, fmt.Errorf("redis: occupy: %w", err)
	}
	return n, nil
}

func (b *Backplane) occupy(ctx context.Context, node string, key realtime.ChannelKey, n int, mode string, guard bool) (int, error) {
	g := "0"
	if guard {
		g = "1"
	}
	return occupyScript.Run(ctx, b.rdb,
		[]string{b.keys.nodeOcc(node), b.keys.occupancy(key.App), b.keys.heartbeat(node)},
		occField(key), key.Channel, n, mode, g).Int()
}

// Channels lists app's occupied channels starting with prefix.
func (b *Backplane) Channels(ctx context.Context, app, prefix string) (map[string]int, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	all, err := b.rdb.HGetAll(ctx, b.keys.occupancy(app)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: channels: %w", err)
	}
	out := make(map[string]int)
	for ch, v := range all {
		if !strings.HasPrefix(ch, prefix) {
			continue
		}
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			out[ch] = n
		}
	}
	return out, nil
}

func (b *Backplane) presenceKeys(key realtime.ChannelKey, node string, last string) []string {
	return []string{
		b.keys.presence(key, "info"), b.keys.presence(key, "order"),
		b.keys.presence(key, "conns"), b.keys.presence(key, "users"),
		b.keys.nodePresence(node), last,
	}
}

// PresenceAdd records conn of node as member m of key, refusing a new user
// when max members are present; the check and the write are one script, so
// nodes racing for the last place admit exactly one.
func (b *Backplane) PresenceAdd(ctx context.Context, key realtime.ChannelKey, node, conn string, m realtime.Member, max int) (bool, error) {
	if b.closed.Load() {
		return false, ErrClosed
	}
	b.shareRW.RLock()
	defer b.shareRW.RUnlock()
	if err := b.ensureNode(ctx, node); err != nil {
		return false, err
	}
	added, err := b.presenceAdd(ctx, key, node, conn, m, max)
	if err != nil {
		return false, err
	}
	b.recordPresence(node, key, conn, &m)
	return added, nil
}

func (b *Backplane) presenceAdd(ctx context.Context, key realtime.ChannelKey, node, conn string, m realtime.Member, max int) (bool, error) {
	r, err := presenceAddScript.Run(ctx, b.rdb, b.presenceKeys(key, node, b.keys.seq()),
		connField(node, conn, m.UserID), m.UserID, []byte(m.UserInfo), max, presenceIndexField(key, conn, m.UserID)).Int()
	if err != nil {
		return false, fmt.Errorf("redis: presence add: %w", err)
	}
	if r < 0 {
		return false, realtime.ErrPresenceFull
	}
	return r == 1, nil
}

// PresenceRemove forgets conn of node as a connection of userID on key.
func (b *Backplane) PresenceRemove(ctx context.Context, key realtime.ChannelKey, node, conn, userID string) (bool, error) {
	if b.closed.Load() {
		return false, ErrClosed
	}
	b.shareRW.RLock()
	defer b.shareRW.RUnlock()
	b.recordPresence(node, key, conn, nil)
	r, err := b.presenceRemove(ctx, key, node, conn, userID, false)
	if err != nil {
		return false, err
	}
	return r == 1, nil
}

func (b *Backplane) presenceRemove(ctx context.Context, key realtime.ChannelKey, node, conn, userID string, guard bool) (int, error) {
	g := "0"
	if guard {
		g = "1"
	}
	r, err := presenceRemoveScript.Run(ctx, b.rdb, b.presenceKeys(key, node, b.keys.heartbeat(node)),
		connField(node, conn, userID), userID, presenceIndexField(key, conn, userID), g).Int()
	if err != nil {
		return 0, fmt.Errorf("redis: presence remove: %w", err)
	}
	return r, nil
}

// PresenceMembers lists the members of key in join order.
func (b *Backplane) PresenceMembers(ctx context.Context, key realtime.ChannelKey) ([]realtime.Member, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	flat, err := presenceMembersScript.Run(ctx, b.rdb,
		[]string{b.keys.presence(key, "order"), b.keys.presence(key, "info")}).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis: presence members: %w", err)
	}
	if len(flat) == 0 {
		return nil, nil
	}
	out := make([]realtime.Member, 0, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		m := realtime.Member{UserID: flat[i]}
		if flat[i+1] != "" {
			m.UserInfo = json.RawMessage(flat[i+1])
		}
		out = append(out, m)
	}
	return out, nil
}

// CacheSet keeps ev as key's last event for ttl (a Redis key TTL).
func (b *Backplane) CacheSet(ctx context.Context, key realtime.ChannelKey, ev realtime.CachedEvent, ttl time.Duration) error {
	if b.closed.Load() {
		return ErrClosed
	}
	v, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("redis: encode cached event: %w", err)
	}
	if err := b.rdb.Set(ctx, b.keys.cache(key), v, ttl).Err(); err != nil {
		return fmt.Errorf("redis: cache set: %w", err)
	}
	return nil
}

// CacheGet returns key's last event while its TTL runs.
func (b *Backplane) CacheGet(ctx context.Context, key realtime.ChannelKey) (realtime.CachedEvent, bool, error) {
	if b.closed.Load() {
		return realtime.CachedEvent{}, false, ErrClosed
	}
	v, err := b.rdb.Get(ctx, b.keys.cache(key)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return realtime.CachedEvent{}, false, nil
	}
	if err != nil {
		return realtime.CachedEvent{}, false, fmt.Errorf("redis: cache get: %w", err)
	}
	var ev realtime.CachedEvent
	if err := json.Unmarshal(v, &ev); err != nil {
		return realtime.CachedEvent{}, false, fmt.Errorf("redis: decode cached event: %w", err)
	}
	return ev, true, nil
}
