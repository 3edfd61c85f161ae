package memory

import (
	"context"
	"testing"
	"time"

	"gatehouse/realtime"
	"gatehouse/realtime/backplanetest"
)

func TestConformance(t *testing.T) {
	backplanetest.Run(t, func(t *testing.T) realtime.Backplane { return New(Config{}) })
}

// One process has nothing to fail over: the suite's failover is a no-op
// and every publish is accepted and delivered.
func TestFailover(t *testing.T) {
	backplanetest.RunFailover(t, func(t *testing.T) (realtime.Backplane, realtime.Backplane, func(context.Context) error) {
		bp := New(Config{})
		return bp, bp, func(context.Context) error { return nil }
	})
}

// In one process every node shares the same in-memory backplane.
func TestHubsAcrossNodes(t *testing.T) {
	backplanetest.RunHubs(t, func(t *testing.T) (realtime.Backplane, realtime.Backplane) {
		bp := New(Config{})
		return bp, bp
	})
}

func TestCacheExpires(t *testing.T) {
	now := time.Unix(1000, 0)
	b := New(Config{Now: func() time.Time { return now }})
	key := realtime.ChannelKey{App: "a", Channel: "cache-x"}
	ctx := context.Background()
	if err := b.CacheSet(ctx, key, realtime.CachedEvent{Name: "e", Data: "d"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.CacheGet(ctx, key); !ok {
		t.Fatal("fresh entry missing")
	}
	now = now.Add(time.Minute)
	if _, ok, _ := b.CacheGet(ctx, key); ok {
		t.Fatal("expired entry returned")
	}
}

func TestClosedRefuses(t *testing.T) {
	b := New(Config{})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), realtime.Envelope{}); err == nil {
		t.Fatal("Publish after Close succeeded")
	}
	if err := b.Ping(context.Background()); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
}
