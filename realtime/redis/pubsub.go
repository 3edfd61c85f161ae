package redis

import (
	"context"
	"encoding/json"
	"fmt"

	"gatehouse/realtime"
)

// Publish sends env on the envelope channel. Each call waits for Redis to
// take the message, so the envelopes of one caller keep their order: Redis
// hands every subscriber the messages of a channel in the order they came.
func (b *Backplane) Publish(ctx context.Context, env realtime.Envelope) error {
	if b.closed.Load() {
		return ErrClosed
	}
	return b.publish(ctx, env)
}

// publish sends env, also while the backplane closes (its share's members
// are announced as they leave).
func (b *Backplane) publish(ctx context.Context, env realtime.Envelope) error {
	payload, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("redis: encode envelope: %w", err)
	}
	if err := b.rdb.Publish(ctx, b.keys.envelopes(), payload).Err(); err != nil {
		return fmt.Errorf("redis: publish: %w", err)
	}
	return nil
}

// Subscribe registers h for every envelope published from now on. It
// returns once the node's subscription is confirmed by Redis: at once while
// the connection is up, after the reconnection otherwise (or with an error
// when ctx ends first). Envelopes published while the connection is down
// are lost, as Redis pub/sub does not keep them.
func (b *Backplane) Subscribe(ctx context.Context, h func(realtime.Envelope)) (func(), error) {
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
	if err := b.sub.waitUp(ctx); err != nil {
		stop()
		return nil, fmt.Errorf("redis: subscribe: %w", err)
	}
	return stop, nil
}

// dispatch runs in the subscriber's goroutine, one message at a time.
func (b *Backplane) dispatch(_, payload string) {
	var env realtime.Envelope
	if err := json.Unmarshal([]byte(payload), &env); err != nil {
		b.fail(context.Background(), "undecodable envelope", err)
		return
	}
	b.hmu.RLock()
	defer b.hmu.RUnlock()
	for _, h := range b.handlers {
		h(env)
	}
}

// resubscribed runs when the subscription is confirmed. After a lost
// connection Redis may have restarted empty, so every node of this process
// replays its share.
func (b *Backplane) resubscribed(ctx context.Context, first bool) {
	if first {
		return
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for _, node := range b.localNodes() {
			if err := b.replay(ctx, node); err != nil && ctx.Err() == nil {
				b.fail(ctx, "replay after reconnect; retried at the next heartbeat", err)
			}
		}
	}()
}
