package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/realtime"
)

// share is what one node of this process holds: its subscriptions per
// channel and its presence connections.
type share struct {
	beating  bool // the heartbeat was written once
	dirty    bool // a replay failed: Redis may miss part of the share
	occ      map[realtime.ChannelKey]int
	presence map[presenceConn]realtime.Member
}

type presenceConn struct {
	key  realtime.ChannelKey
	conn string
}

func (b *Backplane) shareOf(node string) *share {
	s := b.nodes[node]
	if s == nil {
		s = &share{occ: make(map[realtime.ChannelKey]int), presence: make(map[presenceConn]realtime.Member)}
		b.nodes[node] = s
	}
	return s
}

func (b *Backplane) recordOcc(node string, key realtime.ChannelKey, delta int) {
	b.shareMu.Lock()
	defer b.shareMu.Unlock()
	s := b.shareOf(node)
	if n := s.occ[key] + delta; n > 0 {
		s.occ[key] = n
	} else {
		delete(s.occ, key)
	}
}

// localOcc returns node's subscriptions of key as this process counts them.
func (b *Backplane) localOcc(node string, key realtime.ChannelKey) int {
	b.shareMu.Lock()
	defer b.shareMu.Unlock()
	if s := b.nodes[node]; s != nil {
		return s.occ[key]
	}
	return 0
}

// recordPresence records m as conn's membership of key, or forgets it when
// m is nil.
func (b *Backplane) recordPresence(node string, key realtime.ChannelKey, conn string, m *realtime.Member) {
	b.shareMu.Lock()
	defer b.shareMu.Unlock()
	s := b.shareOf(node)
	pc := presenceConn{key, conn}
	if m == nil {
		delete(s.presence, pc)
		return
	}
	s.presence[pc] = realtime.Member{UserID: m.UserID, UserInfo: append([]byte(nil), m.UserInfo...)}
}

// localNodes returns the nodes this process beats for: every node written
// through it, also when its first heartbeat failed.
func (b *Backplane) localNodes() []string {
	b.shareMu.Lock()
	defer b.shareMu.Unlock()
	out := make([]string, 0, len(b.nodes))
	for n := range b.nodes {
		out = append(out, n)
	}
	return out
}

func (b *Backplane) needsReplay(node string) bool {
	b.shareMu.Lock()
	defer b.shareMu.Unlock()
	s := b.nodes[node]
	return s != nil && (s.dirty || !s.beating)
}

func (b *Backplane) replayed(node string, err error) {
	b.shareMu.Lock()
	defer b.shareMu.Unlock()
	s := b.shareOf(node)
	s.dirty = err != nil
	if err == nil {
		s.beating = true
	}
}

func (b *Backplane) heartbeatTTL() time.Duration { return deadAfter * b.cfg.Heartbeat }

// ensureNode starts the heartbeat of node before anything is written for
// it, so a share is never in Redis without a heartbeat that will expire.
func (b *Backplane) ensureNode(ctx context.Context, node string) error {
	b.shareMu.Lock()
	known := b.nodes[node] != nil && b.nodes[node].beating
	b.shareMu.Unlock()
	if known {
		return nil
	}
	if err := b.startBeat(ctx, node); err != nil {
		return fmt.Errorf("redis: heartbeat: %w", err)
	}
	b.shareMu.Lock()
	b.shareOf(node).beating = true
	b.shareMu.Unlock()
	return nil
}

// startBeat writes node's heartbeat and lists the node.
func (b *Backplane) startBeat(ctx context.Context, node string) error {
	_, err := b.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, b.keys.heartbeat(node), "1", b.heartbeatTTL())
		p.SAdd(ctx, b.keys.nodes(), node)
		return nil
	})
	return err
}

// alive reports whether node's heartbeat is there.
func (b *Backplane) alive(ctx context.Context, node string) (bool, error) {
	n, err := b.rdb.Exists(ctx, b.keys.heartbeat(node)).Result()
	return n > 0, err
}

// beat refreshes the heartbeats of this process's nodes and sweeps the
// nodes whose heartbeat expired, once every Heartbeat.
func (b *Backplane) beat(ctx context.Context) {
	t := time.NewTicker(b.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.beatOnce(ctx)
		if err := b.sweep(ctx); err != nil && ctx.Err() == nil {
			b.fail(ctx, "sweep", err)
		}
	}
}

func (b *Backplane) beatOnce(ctx context.Context) {
	for _, node := range b.localNodes() {
		var old *goredis.StatusCmd
		_, err := b.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			old = p.SetArgs(ctx, b.keys.heartbeat(node), "1", goredis.SetArgs{TTL: b.heartbeatTTL(), Get: true})
			p.SAdd(ctx, b.keys.nodes(), node)
			return nil
		})
		if err != nil && !errors.Is(err, goredis.Nil) {
			if ctx.Err() == nil {
				b.fail(ctx, "heartbeat", err)
			}
			continue
		}
		missing := errors.Is(old.Err(), goredis.Nil)
		if missing || b.needsReplay(node) {
			// The heartbeat had expired (this process stalled), Redis
			// restarted empty, or a write of the share failed: write it
			// again.
			if missing {
				b.log.WarnContext(ctx, "redis backplane: heartbeat was missing, replaying the node's share", "node", node)
			}
			if err := b.replay(ctx, node); err != nil && ctx.Err() == nil && !errors.Is(err, errSweepRunning) {
				b.fail(ctx, "replay", err)
			}
		}
	}
}

// errSweepRunning ends a replay that raced a sweep of the same node: the
// sweep may remove part of what the replay wrote, so the node replays again
// at its next heartbeat.
var errSweepRunning = errors.New("redis: a sweep of the node was running; replaying again at the next heartbeat")

// sweep removes the share of every node whose heartbeat expired: its
// presence connections (announcing the members that left with
// member_removed envelopes) and its subscription counts.
func (b *Backplane) sweep(ctx context.Context) error {
	all, err := b.rdb.SMembers(ctx, b.keys.nodes()).Result()
	if err != nil {
		return err
	}
	local := make(map[string]bool)
	for _, n := range b.localNodes() {
		local[n] = true
	}
	var candidates []string
	var exists []*goredis.IntCmd
	_, err = b.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, n := range all {
			if local[n] {
				continue
			}
			candidates = append(candidates, n)
			exists = append(exists, p.Exists(ctx, b.keys.heartbeat(n)))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, n := range candidates {
		if exists[i].Val() == 0 {
			if err := b.sweepNode(ctx, n); err != nil && !errors.Is(err, errNodeAlive) {
				return fmt.Errorf("node %s: %w", n, err)
			}
		}
	}
	return nil
}

var errNodeAlive = errors.New("redis: node came back")

func (b *Backplane) sweepNode(ctx context.Context, node string) error {
	// One sweeper per dead node at a time; the scripts are safe to run
	// twice, the lock only spares the work.
	ok, err := b.rdb.SetNX(ctx, b.keys.sweeping(node), b.cfg.Node, b.heartbeatTTL()).Result()
	if err != nil || !ok {
		return err
	}
	defer b.rdb.Del(context.WithoutCancel(ctx), b.keys.sweeping(node))
	b.log.InfoContext(ctx, "redis backplane: sweeping a dead node", "node", node)

	if err := b.removeShare(ctx, node, true); err != nil {
		return err
	}
	forget, err := forgetNodeScript.Run(ctx, b.rdb, []string{b.keys.heartbeat(node), b.keys.nodeOcc(node),
		b.keys.nodePresence(node)}).Int()
	if err != nil {
		return err
	}
	if forget == 1 {
		// A node that comes back lists itself again at its next beat.
		if err := b.rdb.SRem(ctx, b.keys.nodes(), node).Err(); err != nil {
			return err
		}
	}
	if b.cfg.hooks != nil && b.cfg.hooks.swept != nil {
		b.cfg.hooks.swept(node)
	}
	return nil
}

// leave removes node's share at a clean shutdown, as a sweep would.
func (b *Backplane) leave(ctx context.Context, node string) error {
	b.shareRW.Lock()
	defer b.shareRW.Unlock()
	// Nothing is counted for the node any more: its index entries go with
	// the counts.
	b.shareMu.Lock()
	delete(b.nodes, node)
	b.shareMu.Unlock()
	if err := b.rdb.Del(ctx, b.keys.heartbeat(node)).Err(); err != nil {
		return err
	}
	if err := b.removeShare(ctx, node, false); err != nil {
		return err
	}
	return b.rdb.SRem(ctx, b.keys.nodes(), node).Err()
}

// reportLifecycle hands this node's hub a channel change of a dead node's
// share, which this node (the sweeper) reports instead of it.
func (b *Backplane) reportLifecycle(key realtime.ChannelKey, kind realtime.LifecycleKind, user string) {
	b.dispatch(realtime.Envelope{Kind: realtime.KindLifecycle, Origin: b.cfg.Node,
		Message: realtime.Message{App: key.App, Channel: key.Channel, Name: string(kind)}, UserID: user})
}

// removeShare removes node's presence connections, announcing the members
// that leave, and its subscription counts. With guard (a sweep) it checks
// before each step that the node is still dead, and stops with
// errNodeAlive once its heartbeat is back; the node then replays its share
// after the sweep (see errSweepRunning).
func (b *Backplane) removeShare(ctx context.Context, node string, guard bool) error {
	stillDead := func() error {
		if !guard {
			return nil
		}
		alive, err := b.alive(ctx, node)
		if err != nil {
			return err
		}
		if alive {
			return errNodeAlive
		}
		return nil
	}
	pres, err := b.rdb.HKeys(ctx, b.keys.nodePresence(node)).Result()
	if err != nil {
		return err
	}
	for _, f := range pres {
		parts := strings.Split(f, sep)
		if len(parts) != 4 {
			b.rdb.HDel(ctx, b.keys.nodePresence(node), f)
			continue
		}
		if err := stillDead(); err != nil {
			return err
		}
		key := realtime.ChannelKey{App: parts[0], Channel: parts[1]}
		conn, user := parts[2], parts[3]
		r, err := b.presenceRemove(ctx, key, node, conn, user)
		if err != nil {
			return err
		}
		if r == 1 {
			env := realtime.Envelope{Kind: realtime.KindMemberRemoved, Origin: b.cfg.Node,
				Message: realtime.Message{App: key.App, Channel: key.Channel}, UserID: user, Conn: conn}
			if err := b.publish(ctx, env); err != nil {
				return err
			}
			if guard {
				b.reportLifecycle(key, realtime.MemberRemoved, user)
			}
		}
	}
	occ, err := b.rdb.HKeys(ctx, b.keys.nodeOcc(node)).Result()
	if err != nil {
		return err
	}
	for _, f := range occ {
		app, ch, ok := strings.Cut(f, sep)
		if !ok {
			b.rdb.HDel(ctx, b.keys.nodeOcc(node), f)
			continue
		}
		if err := stillDead(); err != nil {
			return err
		}
		key := realtime.ChannelKey{App: app, Channel: ch}
		o, err := b.occupy(ctx, node, key, 0, "set")
		if err != nil {
			return err
		}
		if o.before == 0 {
			// Only an index entry left behind: nothing was counted.
			if err := b.rdb.HDel(ctx, b.keys.nodeOcc(node), f).Err(); err != nil {
				return err
			}
			continue
		}
		if o.total == 0 {
			b.log.InfoContext(ctx, "redis backplane: channel vacated by a node that left", "app", app, "channel", ch, "node", node)
			if guard {
				b.reportLifecycle(key, realtime.ChannelVacated, "")
			}
		}
	}
	return nil
}

// replay makes Redis hold exactly node's share as this process knows it:
// counts are set, missing presence connections added (over the limit if
// need be: they were admitted before), and connections Redis holds for the
// node but the node does not are removed and announced.
func (b *Backplane) replay(ctx context.Context, node string) (err error) {
	defer func() { b.replayed(node, err) }()
	b.shareRW.Lock()
	defer b.shareRW.Unlock()
	b.shareMu.Lock()
	s := b.shareOf(node)
	occ := make(map[realtime.ChannelKey]int, len(s.occ))
	for k, v := range s.occ {
		occ[k] = v
	}
	pres := make(map[presenceConn]realtime.Member, len(s.presence))
	for k, v := range s.presence {
		pres[k] = v
	}
	b.shareMu.Unlock()

	if err := b.startBeat(ctx, node); err != nil {
		return err
	}
	stored, err := b.rdb.HKeys(ctx, b.keys.nodeOcc(node)).Result()
	if err != nil {
		return err
	}
	for _, f := range stored {
		app, ch, _ := strings.Cut(f, sep)
		if k := (realtime.ChannelKey{App: app, Channel: ch}); occ[k] == 0 {
			if _, err := b.occupy(ctx, node, k, 0, "set"); err != nil {
				return err
			}
			if err := b.rdb.HDel(ctx, b.keys.nodeOcc(node), f).Err(); err != nil {
				return err
			}
		}
	}
	for k, n := range occ {
		if _, err := b.occupy(ctx, node, k, n, "set"); err != nil {
			return err
		}
	}

	storedPres, err := b.rdb.HKeys(ctx, b.keys.nodePresence(node)).Result()
	if err != nil {
		return err
	}
	for _, f := range storedPres {
		parts := strings.Split(f, sep)
		if len(parts) != 4 {
			continue
		}
		key := realtime.ChannelKey{App: parts[0], Channel: parts[1]}
		conn, user := parts[2], parts[3]
		if m, ok := pres[presenceConn{key, conn}]; ok && m.UserID == user {
			continue
		}
		r, err := b.presenceRemove(ctx, key, node, conn, user)
		if err != nil {
			return err
		}
		if r == 1 {
			env := realtime.Envelope{Kind: realtime.KindMemberRemoved, Origin: b.cfg.Node,
				Message: realtime.Message{App: key.App, Channel: key.Channel}, UserID: user, Conn: conn}
			if err := b.publish(ctx, env); err != nil {
				return err
			}
		}
	}
	for pc, m := range pres {
		if _, err := b.presenceAdd(ctx, pc.key, node, pc.conn, m, 0); err != nil {
			return err
		}
	}
	if sweeping, err := b.rdb.Exists(ctx, b.keys.sweeping(node)).Result(); err != nil {
		return err
	} else if sweeping > 0 {
		return errSweepRunning
	}
	if b.cfg.hooks != nil && b.cfg.hooks.replayed != nil {
		b.cfg.hooks.replayed(node)
	}
	return nil
}
