package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"

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
