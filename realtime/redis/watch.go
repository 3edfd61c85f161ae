package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/realtime"
)

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
