package main

import (
	"context"
	"errors"
	"runtime"
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

// The counting wrapper passes the in-memory backplane's batches through
// (the hub writes queued events to each socket at once only when it gets
// them); a backplane without batches gets one envelope per batch.
func TestCountingBackplanePassesBatches(t *testing.T) {
	mem := memory.New(memory.Config{})
	b := &countingBackplane{Backplane: mem}
	var got [][]realtime.Envelope
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	stop, err := b.SubscribeBatch(context.Background(), func(envs []realtime.Envelope) {
		got = append(got, append([]realtime.Envelope(nil), envs...))
		if len(got) == 1 {
			entered <- struct{}{}
			<-release
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	env := func(i int) realtime.Envelope {
		return realtime.Envelope{Kind: realtime.KindPublish, Message: realtime.Message{App: "a", Channel: "c", Data: string(rune('0' + i))}}
	}
	done := make(chan struct{})
	go func() { _ = b.Publish(context.Background(), env(0)); close(done) }()
	<-entered
	for i := 1; i <= 2; i++ {
		go func() { _ = b.Publish(context.Background(), env(i)) }()
	}
	for mem.Queued() < 2 {
		runtime.Gosched()
	}
	close(release)
	<-done // the first publisher delivers what queued meanwhile before it returns
	if len(got) != 2 || len(got[0]) != 1 || len(got[1]) != 2 {
		t.Fatalf("batches %v, want 1 then 2 envelopes", got)
	}
}
