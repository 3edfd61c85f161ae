package main

import (
	"context"
	"errors"
	"testing"

	"gatehouse/realtime"
	"gatehouse/realtime/memory"
)

// A full presence channel is the backplane answering, not failing: it must
// not show up in gatehouse_backplane_errors_total.
func TestCountingBackplaneIgnoresFullPresence(t *testing.T) {
	b := &countingBackplane{Backplane: memory.New(memory.Config{})}
	ctx := context.Background()
	key := realtime.ChannelKey{App: "a", Channel: "presence-x"}
	if ok, err := b.PresenceAdd(ctx, key, "n", "c1", realtime.Member{UserID: "u1"}, 1); !ok || err != nil {
		t.Fatalf("first member: %v %v", ok, err)
	}
	_, err := b.PresenceAdd(ctx, key, "n", "c2", realtime.Member{UserID: "u2"}, 1)
	if !errors.Is(err, realtime.ErrPresenceFull) {
		t.Fatalf("second member: %v", err)
	}
	if n := b.errors.Load(); n != 0 {
		t.Fatalf("errors = %d, want 0", n)
	}
	if b.count(errors.New("boom")) == nil || b.errors.Load() != 1 {
		t.Fatal("a real failure must be counted")
	}
}
