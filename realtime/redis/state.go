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
	n, err := b.occupy(ctx, node, key, delta, "add")
	if err != nil {
		return 0, fmt.Errorf("redis: occupy: %w", err)
	}
	return n.total, nil
}

// occupied is what occupyScript answers.
type occupied struct{ total, mine, before int }

// occupy runs occupyScript for node and keeps the two indexes that live
// outside the channel's slot: node's list of the channels it counts (read
// by a sweep when the node dies) and the app's list of occupied channels
// (read by Channels). Both are written before a count can need them and
// cleared only after a count is zero, checked again after the clearing (a
// concurrent increment either sees the entry gone and writes it back, or
// is seen by the check), so neither ever misses an occupied channel.
func (b *Backplane) occupy(ctx context.Context, node string, key realtime.ChannelKey, n int, mode string) (occupied, error) {
	field := occField(key)
	if n > 0 {
		if err := b.rdb.HSet(ctx, b.keys.nodeOcc(node), field, "1").Err(); err != nil {
			return occupied{}, err
		}
	}
	v, err := occupyScript.Run(ctx, b.rdb, []string{b.keys.occupancy(key)}, node, n, mode).Int64Slice()
	if err != nil {
		return occupied{}, err
	}
	if len(v) != 3 {
		return occupied{}, fmt.Errorf("occupy script answered %v", v)
	}
	o := occupied{total: int(v[0]), mine: int(v[1]), before: int(v[2])}
	if o.total > 0 && o.before == 0 && o.mine > 0 {
		if err := b.rdb.SAdd(ctx, b.keys.appChannels(key.App), key.Channel).Err(); err != nil {
			return o, err
		}
	}
	if o.mine == 0 && o.before > 0 {
		if err := b.unindexNode(ctx, node, key); err != nil {
			return o, err
		}
	}
	if o.total == 0 && o.before > 0 {
		if err := b.unindexChannel(ctx, key); err != nil {
			return o, err
		}
	}
	return o, nil
}

// unindexNode drops key from node's index once node counts no
// subscription of it, unless this process has counted one meanwhile.
func (b *Backplane) unindexNode(ctx context.Context, node string, key realtime.ChannelKey) error {
	field := occField(key)
	if err := b.rdb.HDel(ctx, b.keys.nodeOcc(node), field).Err(); err != nil {
		return err
	}
	if b.localOcc(node, key) > 0 {
		return b.rdb.HSet(ctx, b.keys.nodeOcc(node), field, "1").Err()
	}
	return nil
}

// unindexChannel drops key from its app's list once no node counts a
// subscription of it, unless one was counted meanwhile.
func (b *Backplane) unindexChannel(ctx context.Context, key realtime.ChannelKey) error {
	if err := b.rdb.SRem(ctx, b.keys.appChannels(key.App), key.Channel).Err(); err != nil {
		return err
	}
	total, err := b.occupancyTotal(ctx, key)
	if err != nil || total == 0 {
		return err
	}
	return b.rdb.SAdd(ctx, b.keys.appChannels(key.App), key.Channel).Err()
}

// occupancyTotal reads a channel's total over every node.
func (b *Backplane) occupancyTotal(ctx context.Context, key realtime.ChannelKey) (int, error) {
	vals, err := b.rdb.HVals(ctx, b.keys.occupancy(key)).Result()
	return sumCounts(vals), err
}

func sumCounts(vals []string) int {
	total := 0
	for _, v := range vals {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			total += n
		}
	}
	return total
}

// Channels lists app's occupied channels starting with prefix.
func (b *Backplane) Channels(ctx context.Context, app, prefix string) (map[string]int, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	names, err := b.rdb.SMembers(ctx, b.keys.appChannels(app)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: channels: %w", err)
	}
	var listed []string
	var counts []*goredis.StringSliceCmd
	_, err = b.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, ch := range names {
			if strings.HasPrefix(ch, prefix) {
				listed = append(listed, ch)
				counts = append(counts, p.HVals(ctx, b.keys.occupancy(realtime.ChannelKey{App: app, Channel: ch})))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis: channels: %w", err)
	}
	out := make(map[string]int, len(listed))
	for i, ch := range listed {
		if n := sumCounts(counts[i].Val()); n > 0 {
			out[ch] = n
			continue
		}
		// Vacated, and its last node failed to take it off the list (or
		// is a dead one not swept yet): take it off now.
		if err := b.unindexChannel(ctx, realtime.ChannelKey{App: app, Channel: ch}); err != nil {
			return nil, fmt.Errorf("redis: channels: %w", err)
		}
	}
	return out, nil
}

func (b *Backplane) presenceKeys(key realtime.ChannelKey) []string {
	return []string{
		b.keys.presence(key, "info"), b.keys.presence(key, "order"),
		b.keys.presence(key, "conns"), b.keys.presence(key, "users"),
		b.keys.presence(key, "seq"),
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

// presenceAdd indexes the connection under node first (a sweep must find
// it), then adds it; a refused add takes the index entry back.
func (b *Backplane) presenceAdd(ctx context.Context, key realtime.ChannelKey, node, conn string, m realtime.Member, max int) (bool, error) {
	index := presenceIndexField(key, conn, m.UserID)
	if err := b.rdb.HSet(ctx, b.keys.nodePresence(node), index, "1").Err(); err != nil {
		return false, fmt.Errorf("redis: presence add: %w", err)
	}
	r, err := presenceAddScript.Run(ctx, b.rdb, b.presenceKeys(key),
		connField(node, conn, m.UserID), m.UserID, []byte(m.UserInfo), max).Int()
	if err != nil {
		return false, fmt.Errorf("redis: presence add: %w", err)
	}
	if r < 0 {
		if err := b.rdb.HDel(ctx, b.keys.nodePresence(node), index).Err(); err != nil {
			b.fail(ctx, "drop the index entry of a refused presence member", err)
		}
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
	r, err := b.presenceRemove(ctx, key, node, conn, userID)
	if err != nil {
		return false, err
	}
	return r == 1, nil
}

// presenceRemove removes the connection, then its index entry.
func (b *Backplane) presenceRemove(ctx context.Context, key realtime.ChannelKey, node, conn, userID string) (int, error) {
	r, err := presenceRemoveScript.Run(ctx, b.rdb, b.presenceKeys(key), connField(node, conn, userID), userID).Int()
	if err != nil {
		return 0, fmt.Errorf("redis: presence remove: %w", err)
	}
	if err := b.rdb.HDel(ctx, b.keys.nodePresence(node), presenceIndexField(key, conn, userID)).Err(); err != nil {
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
