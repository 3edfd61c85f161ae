package redis

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gatehouse/realtime"
	"gatehouse/realtime/backplanetest"
)

// readerID returns the CLIENT ID of b's stream reader once it reads.
func readerID(t *testing.T, b *Backplane) int64 {
	t.Helper()
	if err := b.up.wait(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	return b.st.main.id
}

// A node whose connection to Redis drops again and again, while another
// node publishes, receives every envelope exactly once and in order: it
// resumes each time from the last entry it read. (With pub/sub, what was
// published during each blip was lost.)
func TestBlipsLoseNothing(t *testing.T) {
	pub := newTest(t, testConfig(shared(t), "pub"))
	sub := peer(t, pub, "sub", nil)
	backplanetest.Watch(t, sub, backplanetest.Chat)
	got := backplanetest.Subscribe(t, sub)
	ctx := context.Background()

	const n = 2000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			if err := pub.Publish(ctx, msg("pub", i)); err != nil {
				t.Errorf("Publish: %v", err)
				return
			}
		}
	}()
	kills := 0
	for i := 0; i < n; i++ {
		env := got.Next(t)
		if env.Message.Data != fmt.Sprint(i) {
			t.Fatalf("envelope %d carries %q (lost, repeated or reordered)", i, env.Message.Data)
		}
		if i%250 == 100 {
			// Kill the reading connection, as a network blip would.
			id := readerID(t, sub)
			if err := pub.rdb.ClientKillByFilter(ctx, "ID", fmt.Sprint(id)).Err(); err != nil {
				t.Fatal(err)
			}
			kills++
			if err := sub.up.waitUps(ctxT(t), kills+1); err != nil {
				t.Fatalf("no reconnection after kill %d: %v", kills, err)
			}
		}
	}
	wg.Wait()
	if sub.Errors() < uint64(kills) {
		t.Fatalf("%d kills, %d counted errors", kills, sub.Errors())
	}
	if sub.Resyncs() != 0 {
		t.Fatalf("resynced %d times within the window", sub.Resyncs())
	}
}

// A node that falls further behind than the streams keep learns it: the
// watchers of the channels of that shard get a KindResync (and the hub
// then tells their sockets to reconnect), and the node reads on.
func TestBeyondTheWindowResyncs(t *testing.T) {
	hold := make(chan struct{})
	var once sync.Once
	held := make(chan struct{})
	cfg := testConfig(shared(t), "slow")
	cfg.StreamLength = 10
	cfg.hooks = &hooks{beforeRead: func() {
		select {
		case <-hold:
		default:
			once.Do(func() { close(held) })
			<-hold
		}
	}}
	slow := newTest(t, cfg)
	fast := peer(t, slow, "fast", nil)
	other := realtime.ChannelKey{App: "app", Channel: "elsewhere"}
	for slow.shardOf(other) == slow.shardOf(backplanetest.Chat) {
		other.Channel += "x"
	}
	backplanetest.Watch(t, slow, backplanetest.Chat)
	backplanetest.Watch(t, slow, other)
	got := backplanetest.Subscribe(t, slow)
	<-held // the reader waits before its next read
	// Wake the blocked read so that the reader comes back to the hook.
	ctx := ctxT(t)
	for i := 0; i < 30; i++ {
		if err := fast.Publish(ctx, msg("fast", i)); err != nil {
			t.Fatal(err)
		}
	}
	close(hold)
	var resync *realtime.Envelope
	var data []string
	for len(data) < 10 {
		env := got.Next(t)
		if env.Kind == realtime.KindResync {
			resync = &env
			continue
		}
		data = append(data, env.Message.Data)
	}
	if resync == nil || resync.Message != (realtime.Message{App: "app", Channel: "chat"}) {
		t.Fatalf("resync %+v, want one for app/chat only", resync)
	}
	if data[0] != "20" || data[9] != "29" {
		t.Fatalf("read on with %v, want the 10 kept envelopes 20..29", data)
	}
	if slow.Resyncs() != 1 {
		t.Fatalf("resyncs %d", slow.Resyncs())
	}
}

// A node receives the envelopes of channels it watches and the control
// envelopes, not those of other channels.
func TestOnlyWatchedChannelsArrive(t *testing.T) {
	a := newTest(t, testConfig(shared(t), "a"))
	b := peer(t, a, "b", nil)
	backplanetest.Watch(t, b, backplanetest.Chat)
	got := backplanetest.Subscribe(t, b)
	ctx := ctxT(t)
	unwatched := realtime.Envelope{Kind: realtime.KindPublish, Origin: "a", Message: realtime.Message{App: "app", Channel: "nobody-here", Data: "x"}}
	for a.shardOf(realtime.ChannelKey{App: "app", Channel: unwatched.Message.Channel}) == a.shardOf(backplanetest.Chat) {
		unwatched.Message.Channel += "x"
	}
	for _, env := range []realtime.Envelope{
		unwatched,
		{Kind: realtime.KindTerminateUser, Origin: "a", Message: realtime.Message{App: "app"}, UserID: "u1"},
		msg("a", 1),
	} {
		if err := a.Publish(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	kinds := map[realtime.Kind]bool{}
	for range 2 {
		env := got.Next(t)
		if env.Message.Channel == unwatched.Message.Channel {
			t.Fatalf("an envelope of an unwatched shard arrived: %+v", env)
		}
		kinds[env.Kind] = true
	}
	if !kinds[realtime.KindTerminateUser] || !kinds[realtime.KindPublish] {
		t.Fatalf("got %v", kinds)
	}
	// Watching late: from then on, the channel's envelopes arrive.
	backplanetest.Watch(t, b, realtime.ChannelKey{App: "app", Channel: unwatched.Message.Channel})
	if err := a.Publish(ctx, unwatched); err != nil {
		t.Fatal(err)
	}
	if env := got.Next(t); env.Message.Channel != unwatched.Message.Channel {
		t.Fatalf("got %+v", env)
	}
}

// What one read of the streams returns reaches a batch subscriber as one
// batch, in order: five envelopes published while the reader was held
// arrive together (the hub then writes them to each socket at once).
func TestReadsArriveAsBatches(t *testing.T) {
	hold := make(chan struct{})
	held := make(chan struct{})
	var once sync.Once
	cfg := testConfig(shared(t), "batched")
	armed := false
	var mu sync.Mutex
	cfg.hooks = &hooks{beforeRead: func() {
		mu.Lock()
		a := armed
		mu.Unlock()
		if a {
			once.Do(func() { close(held); <-hold })
		}
	}}
	sub := newTest(t, cfg)
	pub := peer(t, sub, "pub", nil)
	backplanetest.Watch(t, sub, backplanetest.Chat)
	batches := make(chan []realtime.Envelope, 16)
	stop, err := sub.SubscribeBatch(ctxT(t), func(envs []realtime.Envelope) {
		batches <- append([]realtime.Envelope(nil), envs...)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	mu.Lock()
	armed = true
	mu.Unlock()
	// Wake the blocked read so that the reader comes back to the hook.
	if err := pub.Publish(ctxT(t), msg("pub", 0)); err != nil {
		t.Fatal(err)
	}
	<-held
	for i := 1; i <= 5; i++ {
		if err := pub.Publish(ctxT(t), msg("pub", i)); err != nil {
			t.Fatal(err)
		}
	}
	close(hold)
	var got []string
	for len(got) < 6 {
		select {
		case b := <-batches:
			if len(got) >= 1 && len(b) != 5 {
				t.Fatalf("after the held read, a batch of %d, want the 5 published meanwhile", len(b))
			}
			for _, env := range b {
				got = append(got, env.Message.Data)
			}
		case <-time.After(wait):
			t.Fatalf("got %v", got)
		}
	}
	if fmt.Sprint(got) != "[0 1 2 3 4 5]" {
		t.Fatalf("envelopes %v, want 0..5 in order", got)
	}
}
