package main

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"gatehouse/realtime"
)

// countingBackplane counts the failed calls of a backplane, for the
// gatehouse_backplane_errors_total counter.
type countingBackplane struct {
	realtime.Backplane
	errors atomic.Uint64
}

var (
	_ realtime.Backplane       = (*countingBackplane)(nil)
	_ realtime.BatchSubscriber = (*countingBackplane)(nil)
)

// count records a failure; a full presence channel is an answer, not one.
func (b *countingBackplane) count(err error) error {
	if err != nil && !errors.Is(err, realtime.ErrPresenceFull) {
		b.errors.Add(1)
	}
	return err
}

func (b *countingBackplane) Publish(ctx context.Context, env realtime.Envelope) error {
	return b.count(b.Backplane.Publish(ctx, env))
}

func (b *countingBackplane) Subscribe(ctx context.Context, h func(realtime.Envelope)) (func(), error) {
	stop, err := b.Backplane.Subscribe(ctx, h)
	return stop, b.count(err)
}

// SubscribeBatch passes batches through when the backplane makes them (the
// hub then writes queued events to each socket at once), and hands on one
// envelope per batch otherwise.
func (b *countingBackplane) SubscribeBatch(ctx context.Context, h func([]realtime.Envelope)) (func(), error) {
	if bb, ok := b.Backplane.(realtime.BatchSubscriber); ok {
		stop, err := bb.SubscribeBatch(ctx, h)
		return stop, b.count(err)
	}
	return b.Subscribe(ctx, func(env realtime.Envelope) { h([]realtime.Envelope{env}) })
}

func (b *countingBackplane) Watch(ctx context.Context, key realtime.ChannelKey) error {
	return b.count(b.Backplane.Watch(ctx, key))
}

func (b *countingBackplane) Occupy(ctx context.Context, key realtime.ChannelKey, node string, delta int) (int, error) {
	n, err := b.Backplane.Occupy(ctx, key, node, delta)
	return n, b.count(err)
}

func (b *countingBackplane) Channels(ctx context.Context, app, prefix string) (map[string]int, error) {
	m, err := b.Backplane.Channels(ctx, app, prefix)
	return m, b.count(err)
}

func (b *countingBackplane) PresenceAdd(ctx context.Context, key realtime.ChannelKey, node, conn string, m realtime.Member, max int) (bool, error) {
	ok, err := b.Backplane.PresenceAdd(ctx, key, node, conn, m, max)
	return ok, b.count(err)
}

func (b *countingBackplane) PresenceRemove(ctx context.Context, key realtime.ChannelKey, node, conn, userID string) (bool, error) {
	ok, err := b.Backplane.PresenceRemove(ctx, key, node, conn, userID)
	return ok, b.count(err)
}

func (b *countingBackplane) PresenceMembers(ctx context.Context, key realtime.ChannelKey) ([]realtime.Member, error) {
	m, err := b.Backplane.PresenceMembers(ctx, key)
	return m, b.count(err)
}

func (b *countingBackplane) CacheSet(ctx context.Context, key realtime.ChannelKey, ev realtime.CachedEvent, ttl time.Duration) error {
	return b.count(b.Backplane.CacheSet(ctx, key, ev, ttl))
}

func (b *countingBackplane) CacheGet(ctx context.Context, key realtime.ChannelKey) (realtime.CachedEvent, bool, error) {
	ev, ok, err := b.Backplane.CacheGet(ctx, key)
	return ev, ok, b.count(err)
}

func (b *countingBackplane) Ping(ctx context.Context) error {
	return b.count(b.Backplane.Ping(ctx))
}
