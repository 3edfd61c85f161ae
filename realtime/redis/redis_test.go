package redis

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"gatehouse/realtime"
	"gatehouse/realtime/backplanetest"
)

const wait = 5 * time.Second

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

func msg(from string, i int) realtime.Envelope {
	return realtime.Envelope{Kind: realtime.KindPublish, Origin: from,
		Message: realtime.Message{App: "app", Channel: "chat", Name: "ev", Data: fmt.Sprint(i)}}
}

// peer is a second backplane on a's Redis and key prefix: another node.
func peer(t *testing.T, a *Backplane, node string, h *hooks) *Backplane {
	t.Helper()
	cfg := a.cfg
	cfg.Node = node
	cfg.hooks = h
	return newTest(t, cfg)
}

func members(t *testing.T, b realtime.Backplane, key realtime.ChannelKey) []string {
	t.Helper()
	ms, err := b.PresenceMembers(ctxT(t), key)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, m := range ms {
		out = append(out, m.UserID)
	}
	return out
}

func channels(t *testing.T, b realtime.Backplane, app string) map[string]int {
	t.Helper()
	chs, err := b.Channels(ctxT(t), app, "")
	if err != nil {
		t.Fatal(err)
	}
	return chs
}

// notified returns a hook that reports each node it is called with.
func notified() (func(string), chan string) {
	ch := make(chan string, 64)
	return func(node string) { ch <- node }, ch
}

func await(t *testing.T, ch chan string, node string) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case n := <-ch:
			if n == node {
				return
			}
		case <-deadline:
			t.Fatalf("no notice for node %s in time", node)
		}
	}
}

func TestOnePublishersOrderAcrossNodes(t *testing.T) {
	a := newTest(t, testConfig(shared(t), "a"))
	b := peer(t, a, "b", nil)
	backplanetest.Watch(t, b, backplanetest.Chat)
	got := backplanetest.Subscribe(t, b)
	const n = 500
	var wg sync.WaitGroup
	for _, from := range []*Backplane{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				if err := from.Publish(context.Background(), msg(from.Node(), i)); err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	next := map[string]int{}
	for i := 0; i < 2*n; i++ {
		env := got.Next(t)
		if want := fmt.Sprint(next[env.Origin]); env.Message.Data != want {
			t.Fatalf("from %s: got %s, want %s", env.Origin, env.Message.Data, want)
		}
		next[env.Origin]++
	}
}

func TestSubscriptionSurvivesRedisRestart(t *testing.T) {
	srv := ownServer(t)
	replayed, replays := notified()
	cfg := testConfig(srv.url(), "a")
	cfg.hooks = &hooks{replayed: replayed}
	a := newTest(t, cfg)
	backplanetest.Watch(t, a, backplanetest.Chat)
	got := backplanetest.Subscribe(t, a)
	ctx := ctxT(t)

	key := realtime.ChannelKey{App: "app", Channel: "presence-room"}
	if _, err := a.Occupy(ctx, key, "a", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PresenceAdd(ctx, key, "a", "1.1", realtime.Member{UserID: "u1", UserInfo: []byte(`{"n":1}`)}, 10); err != nil {
		t.Fatal(err)
	}

	srv.restart(t) // empty: no persistence
	if err := a.up.waitUps(ctx, 2); err != nil {
		t.Fatalf("no resubscription after the restart: %v", err)
	}
	await(t, replays, "a")

	// The node's share is back in the empty Redis...
	if got := channels(t, a, "app"); !reflect.DeepEqual(got, map[string]int{"presence-room": 1}) {
		t.Fatalf("channels after restart: %v", got)
	}
	if got := members(t, a, key); !reflect.DeepEqual(got, []string{"u1"}) {
		t.Fatalf("members after restart: %v", got)
	}
	// ...and envelopes flow again, to the same Subscribe.
	b := peer(t, a, "b", nil)
	if err := b.Publish(ctx, msg("b", 7)); err != nil {
		t.Fatal(err)
	}
	if env := got.Next(t); env.Message.Data != "7" {
		t.Fatalf("got %+v", env)
	}
	if err := a.Ping(ctx); err != nil {
		t.Fatalf("Ping after restart: %v", err)
	}
	if a.Errors() == 0 {
		t.Fatal("the lost connection was not counted")
	}
}

func TestCountsMadeWhileRedisIsDownAreWrittenLater(t *testing.T) {
	srv := ownServer(t)
	replayed, replays := notified()
	cfg := testConfig(srv.url(), "a")
	cfg.hooks = &hooks{replayed: replayed}
	a := newTest(t, cfg)
	ctx := ctxT(t)
	key := realtime.ChannelKey{App: "app", Channel: "chat"}
	srv.stop()
	// The hub's subscription exists locally even though Redis missed it;
	// "hub" is a node name the backplane has not written for yet.
	if _, err := a.Occupy(ctx, key, "hub", 1); err == nil {
		t.Fatal("Occupy succeeded without Redis")
	}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	await(t, replays, "hub")
	if got := channels(t, a, "app"); !reflect.DeepEqual(got, map[string]int{"chat": 1}) {
		t.Fatalf("channels after Redis came back: %v", got)
	}
}

func TestDeadNodeIsSwept(t *testing.T) {
	// Either live node may win the sweep lock: both report the sweep.
	swept, sweeps := notified()
	cfg := testConfig(shared(t), "survivor")
	cfg.hooks = &hooks{swept: swept}
	survivor := newTest(t, cfg)
	dead := peer(t, survivor, "dead", nil)
	watcher := peer(t, survivor, "watcher", &hooks{swept: swept})
	room := realtime.ChannelKey{App: "app", Channel: "presence-room"}
	backplanetest.Watch(t, watcher, room)
	got := backplanetest.Subscribe(t, watcher)
	ctx := ctxT(t)

	both := realtime.ChannelKey{App: "app", Channel: "chat"}
	for _, s := range []struct {
		b    *Backplane
		conn string
		user string
	}{{dead, "1.1", "gone"}, {dead, "1.2", "both"}, {survivor, "2.1", "both"}} {
		if _, err := s.b.PresenceAdd(ctx, room, s.b.Node(), s.conn, realtime.Member{UserID: s.user}, 10); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []struct {
		b   *Backplane
		key realtime.ChannelKey
	}{{dead, room}, {dead, both}, {survivor, room}, {survivor, both}, {dead, both}} {
		if _, err := s.b.Occupy(ctx, s.key, s.b.Node(), 1); err != nil {
			t.Fatal(err)
		}
	}
	if got := channels(t, watcher, "app"); !reflect.DeepEqual(got, map[string]int{"presence-room": 2, "chat": 3}) {
		t.Fatalf("channels: %v", got)
	}

	// The heartbeat stops and the share stays in Redis, as in a crash.
	if err := dead.close(false); err != nil {
		t.Fatal(err)
	}
	env := nextCrossing(t, got)
	if env.Kind != realtime.KindMemberRemoved || env.UserID != "gone" || env.Conn != "1.1" || env.Message.Channel != "presence-room" {
		t.Fatalf("sweep announced %+v, want member_removed of gone", env)
	}
	await(t, sweeps, "dead")
	if got := channels(t, watcher, "app"); !reflect.DeepEqual(got, map[string]int{"presence-room": 1, "chat": 1}) {
		t.Fatalf("channels after the sweep: %v", got)
	}
	if got := members(t, watcher, room); !reflect.DeepEqual(got, []string{"both"}) {
		t.Fatalf("members after the sweep: %v", got)
	}
	// Nothing else was announced (both is still on the survivor): the next
	// envelope is a marker published after the sweep.
	marker := realtime.Envelope{Kind: realtime.KindPublish, Origin: "survivor", Message: realtime.Message{App: room.App, Channel: room.Channel, Name: "marker"}}
	if err := survivor.Publish(ctx, marker); err != nil {
		t.Fatal(err)
	}
	if env := nextCrossing(t, got); env.Kind != realtime.KindPublish || env.Message.Name != "marker" {
		t.Fatalf("unexpected envelope %+v (both is still on the survivor)", env)
	}
}

func TestCloseTakesTheShareAlong(t *testing.T) {
	leaving := newTest(t, testConfig(shared(t), "leaving"))
	stays := peer(t, leaving, "stays", nil)
	room := realtime.ChannelKey{App: "app", Channel: "presence-room"}
	backplanetest.Watch(t, stays, room)
	got := backplanetest.Subscribe(t, stays)
	ctx := ctxT(t)
	if _, err := leaving.PresenceAdd(ctx, room, "leaving", "1.1", realtime.Member{UserID: "u"}, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := leaving.Occupy(ctx, room, "leaving", 1); err != nil {
		t.Fatal(err)
	}
	if err := leaving.Close(); err != nil {
		t.Fatal(err)
	}
	// Close returns after the share is gone: no waiting for a sweep.
	if got := channels(t, stays, "app"); len(got) != 0 {
		t.Fatalf("channels after Close: %v", got)
	}
	if got := members(t, stays, room); len(got) != 0 {
		t.Fatalf("members after Close: %v", got)
	}
	if env := got.Next(t); env.Kind != realtime.KindMemberRemoved || env.UserID != "u" {
		t.Fatalf("got %+v, want member_removed of u", env)
	}
	if n, err := stays.rdb.SIsMember(ctx, stays.keys.nodes(), "leaving").Result(); err != nil || n {
		t.Fatalf("the node is still listed: %v %v", n, err)
	}
}

func TestStalledNodeWritesItsShareAgain(t *testing.T) {
	replayed, replays := notified()
	cfg := testConfig(shared(t), "stalled")
	cfg.hooks = &hooks{replayed: replayed}
	stalled := newTest(t, cfg)
	watcher := peer(t, stalled, "watcher", nil)
	ctx := ctxT(t)
	room := realtime.ChannelKey{App: "app", Channel: "presence-room"}
	if _, err := stalled.PresenceAdd(ctx, room, "stalled", "1.1", realtime.Member{UserID: "u"}, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := stalled.Occupy(ctx, room, "stalled", 1); err != nil {
		t.Fatal(err)
	}
	// The heartbeat vanishes as if the node had not beaten for too long.
	if err := stalled.rdb.Del(ctx, stalled.keys.heartbeat("stalled")).Err(); err != nil {
		t.Fatal(err)
	}
	await(t, replays, "stalled")
	if got := members(t, watcher, room); !reflect.DeepEqual(got, []string{"u"}) {
		t.Fatalf("members after the replay: %v", got)
	}
	if got := channels(t, watcher, "app"); !reflect.DeepEqual(got, map[string]int{"presence-room": 1}) {
		t.Fatalf("channels after the replay: %v", got)
	}
}

func TestPresenceLimitHoldsAcrossNodes(t *testing.T) {
	a := newTest(t, testConfig(shared(t), "a"))
	b := peer(t, a, "b", nil)
	key := realtime.ChannelKey{App: "app", Channel: "presence-full"}
	const limit, tries = 10, 60
	var mu sync.Mutex
	admitted, full := 0, 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < tries; i++ {
		node := []*Backplane{a, b}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			added, err := node.PresenceAdd(context.Background(), key, node.Node(), fmt.Sprintf("%d.1", i),
				realtime.Member{UserID: fmt.Sprint("u", i)}, limit)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, realtime.ErrPresenceFull):
				full++
			case err != nil:
				t.Errorf("PresenceAdd: %v", err)
			case added:
				admitted++
			}
		}()
	}
	close(start)
	wg.Wait()
	if admitted != limit || full != tries-limit {
		t.Fatalf("admitted %d, refused %d; want %d and %d", admitted, full, limit, tries-limit)
	}
	if got := members(t, a, key); len(got) != limit {
		t.Fatalf("%d members, want %d", len(got), limit)
	}
}

func TestLateDecrementOfSweptNodeKeepsOthers(t *testing.T) {
	a := newTest(t, testConfig(shared(t), "a"))
	ctx := ctxT(t)
	key := realtime.ChannelKey{App: "app", Channel: "chat"}
	if n, _ := a.Occupy(ctx, key, "other", 1); n != 1 {
		t.Fatalf("total %d", n)
	}
	if n, err := a.Occupy(ctx, key, "never-subscribed", -1); err != nil || n != 1 {
		t.Fatalf("a -1 without a +1 changed the total: %d %v", n, err)
	}
}

func TestClosedRefuses(t *testing.T) {
	a := newTest(t, testConfig(shared(t), "a"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(context.Background(), msg("a", 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
	if err := a.Ping(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ping after Close: %v", err)
	}
}

func TestNewFailsWithoutRedis(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := New(ctx, Config{URL: fmt.Sprintf("redis://127.0.0.1:%d", port)}, nil); err == nil {
		t.Fatal("New succeeded with nothing listening")
	}
	if _, err := New(ctx, Config{URL: "http://127.0.0.1:1"}, nil); err == nil {
		t.Fatal("New accepted an http URL")
	}
}

// nextCrossing returns the next envelope that crossed nodes, passing over
// the lifecycle reports a sweeping node hands its own hub.
func nextCrossing(t *testing.T, s backplanetest.Sink) realtime.Envelope {
	t.Helper()
	for {
		if env := s.Next(t); env.Kind != realtime.KindLifecycle {
			return env
		}
	}
}
