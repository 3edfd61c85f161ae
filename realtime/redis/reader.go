package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/realtime"
)

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
		if !waitBackoff(ctx, &backoff, maxBackoff) {
			return
		}
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
