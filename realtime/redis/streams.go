package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/realtime"
)

// Defaults of the event streams.
const (
	// DefaultShards is how many streams carry channel envelopes; a channel
	// always uses the same one, so its events keep their order.
	DefaultShards = 16
	// DefaultStreamLength is about how many envelopes each stream keeps:
	// the window within which a node that lost its connection resumes
	// without missing any.
	DefaultStreamLength = 10000
	// readBatch is how many envelopes one read takes at most.
	readBatch = 512
)

// Envelopes travel on Redis streams instead of pub/sub: a channel's
// envelopes on one of Config.Shards streams (chosen by hashing app and
// channel), every other envelope (session bindings, terminations) on the
// control stream. Each node reads the control stream and the shards of the
// channels it watches, from the last entry it has seen, so a lost
// connection is resumed where it broke instead of skipping what was
// published meanwhile. Streams are trimmed to about Config.StreamLength
// entries; a node that comes back after more than that finds the trim mark
// (XINFO max-deleted-entry-id) past its position and tells the watchers of
// that shard's channels to start over (realtime.KindResync).
//
// On one Redis server (or a Sentinel primary) one goroutine reads every
// stream of the node in one blocking XREAD on a connection of its own;
// watching a channel of a new shard records where that stream ends first,
// then wakes the read (CLIENT UNBLOCK) so that it includes the stream from
// there. In a Redis Cluster the streams live in different slots, which one
// XREAD cannot span: each stream the node reads has a reader of its own,
// on a connection to the primary holding it, started when its first
// channel is watched and stopped with the last.

// streamState is where the node is in one stream.
type streamState struct {
	key   string
	seq   string // the stream's sequence counter key
	shard int    // -1 for the control stream
	refs  int    // watched channels in the shard
	last  string // id of the last entry read
	n     int64  // sequence number of that entry (the counter's value when positioned)
}

// publishScript numbers an envelope in its stream and appends it, trimmed
// to about ARGV[2] entries: a reader that sees number n+2 after n knows it
// missed one (a trim that overtook it, or a Redis that lost data and
// started counting again).
//
// KEYS: stream, sequence counter (same hash slot). ARGV: envelope, maxlen,
// "~" or "=".
var publishScript = goredis.NewScript(`
local n = redis.call('INCR', KEYS[2])
return redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], ARGV[2], '*', 'e', ARGV[1], 'n', n)
`)

// streamEndScript returns the id of a stream's last entry ("0-0" when
// none) and the stream's sequence counter, read in one step.
//
// KEYS: stream, sequence counter.
var streamEndScript = goredis.NewScript(`
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local id = '0-0'
if last[1] then id = last[1][1] end
return {id, tonumber(redis.call('GET', KEYS[2]) or '0')}
`)

// streams is the node's reading state.
type streams struct {
	mu      sync.Mutex
	control *streamState
	shards  map[int]*streamState
	watched map[realtime.ChannelKey]int
	// main reads the control stream, and every watched shard too unless
	// the node runs on a Redis Cluster; then each shard has its reader.
	main    *reader
	readers map[int]*reader
}

// reader reads some of the node's streams on one connection.
type reader struct {
	set    func() []*streamState                          // what each XREAD reads
	server func(context.Context) (*goredis.Client, error) // where those streams are
	up     *upFlag
	cancel context.CancelFunc // stops a shard's reader
	// Under streams.mu: the reading connection (id 0 while none).
	id   int64
	conn *goredis.Client
}

// shardOf returns the stream shard of a channel.
func (b *Backplane) shardOf(key realtime.ChannelKey) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key.App))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(key.Channel))
	return int(h.Sum32() % uint32(b.cfg.Shards))
}

// streamKey names the stream an envelope travels on.
func (b *Backplane) streamKey(env realtime.Envelope) (stream, seq string) {
	if realtime.IsChannelKind(env.Kind) {
		shard := b.shardOf(realtime.ChannelKey{App: env.Message.App, Channel: env.Message.Channel})
		return b.keys.stream(shard), b.keys.streamSeq(shard)
	}
	return b.keys.control(), b.keys.controlSeq()
}

// Publish appends env to its stream. Each call waits for Redis to take the
// envelope (and, with Config.WaitReplicas, for that many replicas), so the
// envelopes of one caller on one channel keep their order.
func (b *Backplane) Publish(ctx context.Context, env realtime.Envelope) error {
	if b.closed.Load() {
		return ErrClosed
	}
	return b.publish(ctx, env)
}

// publish appends env, also while the backplane closes (its share's
// members are announced as they leave).
func (b *Backplane) publish(ctx context.Context, env realtime.Envelope) error {
	payload, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("redis: encode envelope: %w", err)
	}
	stream, seq := b.streamKey(env)
	keys := []string{stream, seq}
	// Small streams (tests) are trimmed exactly; large ones by whole
	// radix-tree nodes, which is cheaper and keeps at least the length.
	trim := "~"
	if b.cfg.StreamLength < 1000 {
		trim = "="
	}
	argv := []any{payload, b.cfg.StreamLength, trim}
	if b.cfg.WaitReplicas <= 0 {
		if err := publishScript.Run(ctx, b.rdb, keys, argv...).Err(); err != nil {
			b.reloadCluster(ctx)
			return fmt.Errorf("redis: publish: %w", err)
		}
		return nil
	}
	// The script then WAIT on the same connection: the publish is accepted
	// only once enough replicas hold it, so a failover does not lose it.
	// In a Cluster both go to the primary holding the stream (WAIT names
	// no key a Cluster client could route by).
	var server goredis.Cmdable = b.rdb
	if b.cluster != nil {
		primary, err := b.cluster.MasterForKey(ctx, stream)
		if err != nil {
			b.reloadCluster(ctx)
			return fmt.Errorf("redis: publish: %w", err)
		}
		server = primary
	}
	var n *goredis.IntCmd
	run := func() error {
		_, err := server.Pipelined(ctx, func(p goredis.Pipeliner) error {
			publishScript.EvalSha(ctx, p, keys, argv...)
			n = goredis.NewIntCmd(ctx, "wait", b.cfg.WaitReplicas, b.cfg.WaitTimeout.Milliseconds())
			_ = p.Process(ctx, n)
			return nil
		})
		return err
	}
	err = run()
	if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		// A server that has not seen the script (a new primary after a
		// failover): the script did not run, so loading it and running
		// again cannot publish twice.
		if err := publishScript.Load(ctx, server).Err(); err != nil {
			return fmt.Errorf("redis: publish: %w", err)
		}
		err = run()
	}
	if err != nil {
		b.reloadCluster(ctx)
		return fmt.Errorf("redis: publish: %w", err)
	}
	if int(n.Val()) < b.cfg.WaitReplicas {
		return fmt.Errorf("redis: publish: %d of %d replicas acknowledged", n.Val(), b.cfg.WaitReplicas)
	}
	return nil
}

// reloadCluster makes a Cluster client learn the slots again after a
// failure (a failover may have moved them); it does nothing on one server.
func (b *Backplane) reloadCluster(ctx context.Context) {
	if b.cluster != nil {
		b.cluster.ReloadState(ctx)
	}
}

// Subscribe registers h for every envelope read from now on. It returns
// once the node reads its streams: at once while the connection is up,
// after the reconnection otherwise (or with an error when ctx ends first).
func (b *Backplane) Subscribe(ctx context.Context, h func(realtime.Envelope)) (func(), error) {
	return b.SubscribeBatch(ctx, func(envs []realtime.Envelope) {
		for _, env := range envs {
			h(env)
		}
	})
}

// SubscribeBatch implements realtime.BatchSubscriber: h gets, in order,
// the envelopes one read of the streams returned (up to 512).
func (b *Backplane) SubscribeBatch(ctx context.Context, h func([]realtime.Envelope)) (func(), error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	b.hmu.Lock()
	id := b.nextID
	b.nextID++
	b.handlers[id] = h
	b.hmu.Unlock()
	stop := func() {
		// Taking the lock waits for a delivery in flight, so h is not
		// called after stop returns. A handler must not call stop.
		b.hmu.Lock()
		defer b.hmu.Unlock()
		delete(b.handlers, id)
	}
	if err := b.up.wait(ctx); err != nil {
		stop()
		return nil, fmt.Errorf("redis: subscribe: %w", err)
	}
	return stop, nil
}

// Watch makes the node read key's shard from its current end on.
func (b *Backplane) Watch(ctx context.Context, key realtime.ChannelKey) error {
	if b.closed.Load() {
		return ErrClosed
	}
	shard := b.shardOf(key)
	s := &b.st
	s.mu.Lock()
	if st := s.shards[shard]; st != nil {
		st.refs++
		s.watched[key]++
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	// First channel of this shard: start right after the stream's last
	// entry as it is now. An envelope published after Watch returns has a
	// later id.
	start, err := b.streamEnd(ctx, b.keys.stream(shard), b.keys.streamSeq(shard), shard)
	if err != nil {
		return fmt.Errorf("redis: watch: %w", err)
	}
	s.mu.Lock()
	st := s.shards[shard]
	fresh := st == nil
	if fresh {
		st = start
		s.shards[shard] = st
	}
	st.refs++
	s.watched[key]++
	if fresh && b.cluster != nil {
		b.startShardReader(shard, st)
		s.mu.Unlock()
		return nil
	}
	readID, conn := s.main.id, s.main.conn
	s.mu.Unlock()
	if fresh && readID != 0 {
		// The read in progress does not include the new stream: end it so
		// that the next one does. Losing this race only delays delivery
		// by one heartbeat, never skips anything.
		if err := conn.ClientUnblock(ctx, readID).Err(); err != nil {
			b.fail(ctx, "wake the stream reader", err)
		}
	}
	return nil
}

// startShardReader starts the reader of a Cluster node's shard; called
// with streams.mu held.
func (b *Backplane) startShardReader(shard int, st *streamState) {
	ctx, cancel := context.WithCancel(b.bg)
	r := &reader{
		set: func() []*streamState { return []*streamState{st} },
		server: func(ctx context.Context) (*goredis.Client, error) {
			return b.cluster.MasterForKey(ctx, st.key)
		},
		up:     &upFlag{},
		cancel: cancel,
	}
	*r.up = newUpFlag()
	b.st.readers[shard] = r
	b.wg.Add(1)
	go func() { defer b.wg.Done(); b.read(ctx, r) }()
}

// Unwatch drops one Watch of key.
func (b *Backplane) Unwatch(key realtime.ChannelKey) {
	shard := b.shardOf(key)
	s := &b.st
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watched[key] == 0 {
		return
	}
	if s.watched[key]--; s.watched[key] == 0 {
		delete(s.watched, key)
	}
	if st := s.shards[shard]; st != nil {
		if st.refs--; st.refs <= 0 {
			delete(s.shards, shard)
			if r := s.readers[shard]; r != nil {
				r.cancel()
				delete(s.readers, shard)
			}
		}
	}
}

// streamEnd returns a reading state positioned after the last entry of a
// stream as it is now.
func (b *Backplane) streamEnd(ctx context.Context, key, seq string, shard int) (*streamState, error) {
	v, err := streamEndScript.Run(ctx, b.rdb, []string{key, seq}).Slice()
	if err != nil {
		return nil, err
	}
	id, _ := v[0].(string)
	n, _ := v[1].(int64)
	return &streamState{key: key, seq: seq, shard: shard, last: id, n: n}, nil
}

// readSet is what the main reader's next XREAD reads: the control stream,
// and every watched shard unless each has its own reader.
func (b *Backplane) readSet() []*streamState {
	s := &b.st
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.cluster != nil {
		return []*streamState{s.control}
	}
	set := make([]*streamState, 0, 1+len(s.shards))
	set = append(set, s.control)
	for _, st := range s.shards {
		set = append(set, st)
	}
	return set
}

// newMainReader returns the reader of the control stream (and, on one
// server, of every watched shard).
func (b *Backplane) newMainReader() *reader {
	r := &reader{set: b.readSet, up: &b.up}
	if b.cluster != nil {
		r.server = func(ctx context.Context) (*goredis.Client, error) {
			return b.cluster.MasterForKey(ctx, b.keys.control())
		}
	} else {
		single := b.rdb.(*goredis.Client)
		r.server = func(context.Context) (*goredis.Client, error) { return single, nil }
	}
	return r
}

// readers returns every reader of the node.
func (b *Backplane) readers() []*reader {
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	out := []*reader{b.st.main}
	for _, r := range b.st.readers {
		out = append(out, r)
	}
	return out
}

// read runs until ctx ends: r reads its streams and hands every envelope
// on, resuming after a lost connection from the last entry seen.
func (b *Backplane) read(ctx context.Context, r *reader) {
	const minBackoff, maxBackoff = 50 * time.Millisecond, time.Second
	backoff := minBackoff
	first := true
	for ctx.Err() == nil {
		err := b.readSession(ctx, r, first)
		r.up.set(false, err)
		if ctx.Err() != nil {
			return
		}
		first = false
		b.fail(ctx, "event stream connection lost", err)
		b.reloadCluster(ctx) // a failover moves slots
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// readSession reads on one connection until it fails.
func (b *Backplane) readSession(ctx context.Context, r *reader, first bool) error {
	server, err := r.server(ctx)
	if err != nil {
		return err
	}
	conn := server.Conn()
	defer conn.Close()
	id, err := conn.ClientID(ctx).Result()
	if err != nil {
		return err
	}
	// Named, so that an operator (or a test) can find it in CLIENT LIST.
	if err := conn.ClientSetName(ctx, "gatehouse-events-"+b.cfg.Node).Err(); err != nil {
		return err
	}
	// When ctx ends, a blocked read is ended from another connection (the
	// reading one is not safe to close while in use).
	defer context.AfterFunc(ctx, func() {
		uctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = server.ClientUnblock(uctx, id).Err()
	})()
	if !first {
		// Whatever happened while we were away (a blip, a restart, a
		// failover), find out what can be resumed before reading on.
		if err := b.checkGaps(ctx, r.set()); err != nil {
			return err
		}
		b.resubscribed(ctx)
	}
	b.st.mu.Lock()
	r.id, r.conn = id, server
	b.st.mu.Unlock()
	defer func() {
		b.st.mu.Lock()
		r.id, r.conn = 0, nil
		b.st.mu.Unlock()
	}()
	r.up.set(true, nil)
	for {
		if h := b.cfg.hooks; h != nil && h.beforeRead != nil {
			h.beforeRead()
		}
		set := r.set()
		args := make([]string, 0, 2*len(set))
		for _, st := range set {
			args = append(args, st.key)
		}
		b.st.mu.Lock()
		for _, st := range set {
			args = append(args, st.last)
		}
		b.st.mu.Unlock()
		res, err := conn.XRead(ctx, &goredis.XReadArgs{Streams: args, Count: readBatch, Block: b.cfg.Heartbeat}).Result()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, goredis.Nil) {
			continue // the block ran out, or Watch woke us
		}
		if err != nil {
			return err
		}
		// The entries of one read go to the handlers as one batch, in
		// order (a resync first hands on what came before it).
		batch := make([]realtime.Envelope, 0, readBatch)
		for _, xs := range res {
			st := b.current(set, xs.Stream)
			if st == nil {
				continue // unwatched meanwhile
			}
			for _, m := range xs.Messages {
				n, _ := strconv.ParseInt(fmt.Sprint(m.Values["n"]), 10, 64)
				// A number past the next one means entries were missed
				// (trimmed, or lost by Redis before this node read them).
				// A number not past the last one means the primary
				// changed and had not received the last entries this
				// node read: those were never acknowledged to their
				// publisher with wait_replicas, and the new ones are
				// read from where the new primary's stream ended (see
				// checkGaps), so nothing was missed.
				b.st.mu.Lock()
				gap := n > st.n+1
				st.last, st.n = m.ID, n
				b.st.mu.Unlock()
				if gap {
					b.dispatchBatch(batch)
					batch = batch[:0]
					b.resync(ctx, st)
				}
				if env, ok := b.decode(ctx, m); ok {
					batch = append(batch, env)
				}
			}
		}
		b.dispatchBatch(batch)
	}
}

// current returns the state of stream key in set if it is still the one
// the node reads (a shard unwatched and watched again has a new state).
func (b *Backplane) current(set []*streamState, key string) *streamState {
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	for _, st := range set {
		if st.key != key {
			continue
		}
		if st.shard < 0 || b.st.shards[st.shard] == st {
			return st
		}
	}
	return nil
}

// decode reads the envelope of one stream entry.
func (b *Backplane) decode(ctx context.Context, m goredis.XMessage) (realtime.Envelope, bool) {
	payload, _ := m.Values["e"].(string)
	var env realtime.Envelope
	if err := json.Unmarshal([]byte(payload), &env); err != nil {
		b.fail(ctx, "undecodable envelope", err)
		return env, false
	}
	return env, true
}

func (b *Backplane) dispatch(env realtime.Envelope) { b.dispatchBatch([]realtime.Envelope{env}) }

// dispatchBatch hands envs to every handler.
func (b *Backplane) dispatchBatch(envs []realtime.Envelope) {
	if len(envs) == 0 {
		return
	}
	b.hmu.RLock()
	defer b.hmu.RUnlock()
	// Readers of several streams (a Cluster) hand on one batch at a time,
	// as one reader does.
	b.dmu.Lock()
	defer b.dmu.Unlock()
	for _, h := range b.handlers {
		h(envs)
	}
}

// checkGaps makes sure each stream is read on from a position that still
// makes sense after a reconnection: a stream that is gone (Redis lost its
// data) is read from its start again, and one whose last id is behind the
// position (a replica that had not caught up became primary) from its end.
// What was missed shows as a jump in the sequence numbers (see read).
func (b *Backplane) checkGaps(ctx context.Context, set []*streamState) error {
	for _, st := range set {
		b.st.mu.Lock()
		last := st.last
		b.st.mu.Unlock()
		info, err := b.rdb.XInfoStream(ctx, st.key).Result()
		lost := false
		switch {
		case err != nil && strings.Contains(err.Error(), "no such key"):
			// Redis lost the stream: whatever the node had not read yet
			// is gone, and numbering starts again.
			b.st.mu.Lock()
			lost = st.n > 0
			st.last, st.n = "0-0", 0
			b.st.mu.Unlock()
		case err != nil:
			return err
		case idLess(info.LastGeneratedID, last):
			b.st.mu.Lock()
			st.last = info.LastGeneratedID
			b.st.mu.Unlock()
		}
		if lost {
			b.resync(ctx, st)
		}
	}
	return nil
}

// resync tells the handlers that the channels watched in st's shard (every
// watched channel, for the control stream) may have missed envelopes.
func (b *Backplane) resync(ctx context.Context, st *streamState) {
	b.resyncs.Add(1)
	b.log.WarnContext(ctx, "redis backplane: events of a stream were trimmed or lost before this node read them; its channels resync", "stream", st.key)
	b.st.mu.Lock()
	var keys []realtime.ChannelKey
	for k := range b.st.watched {
		if st.shard < 0 || b.shardOf(k) == st.shard {
			keys = append(keys, k)
		}
	}
	b.st.mu.Unlock()
	for _, k := range keys {
		b.dispatch(realtime.Envelope{Kind: realtime.KindResync, Origin: b.cfg.Node, Message: realtime.Message{App: k.App, Channel: k.Channel}})
	}
}

// idLess compares two stream ids ("ms-seq").
func idLess(a, b string) bool {
	am, as := splitID(a)
	bm, bs := splitID(b)
	return am < bm || (am == bm && as < bs)
}

func splitID(id string) (uint64, uint64) {
	ms, seq, _ := strings.Cut(id, "-")
	m, _ := strconv.ParseUint(ms, 10, 64)
	s, _ := strconv.ParseUint(seq, 10, 64)
	return m, s
}

// Resyncs returns how many times the node found it had missed envelopes.
func (b *Backplane) Resyncs() uint64 { return b.resyncs.Load() }

// Blip cuts the node's event-reading connections, as a network blip would,
// and returns once the node reads again (the conformance suite's blip).
func (b *Backplane) Blip(ctx context.Context) error {
	for _, r := range b.readers() {
		b.st.mu.Lock()
		id, conn := r.id, r.conn
		b.st.mu.Unlock()
		r.up.mu.Lock()
		ups := r.up.ups
		r.up.mu.Unlock()
		if id == 0 {
			if err := r.up.wait(ctx); err != nil {
				return err
			}
			continue
		}
		if err := conn.ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10)).Err(); err != nil {
			return fmt.Errorf("redis: blip: %w", err)
		}
		if err := r.up.waitUps(ctx, ups+1); err != nil {
			return err
		}
	}
	return nil
}
