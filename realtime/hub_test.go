package realtime_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/realtime"
	"gatehouse/realtime/backplanetest"
	"gatehouse/realtime/memory"
	"gatehouse/revocation"
)

// testConn is the suite's test connection.
type testConn = backplanetest.Conn

func newConn(id string, codec *realtime.Codec) *testConn { return backplanetest.NewConn(id, codec) }

// cluster returns n hubs sharing one in-memory backplane and the revocation
// list revs (nil: a fresh one).
func cluster(t *testing.T, n int, cfg realtime.Config, revs ...revocation.Watcher) []*realtime.Hub {
	t.Helper()
	bp := memory.New(memory.Config{})
	var list revocation.Watcher = revocation.NewMemory(nil)
	if len(revs) > 0 {
		list = revs[0]
	}
	hubs := make([]*realtime.Hub, n)
	for i := range hubs {
		c := cfg
		c.Node = string(rune('a' + i))
		h, err := realtime.New(context.Background(), c, bp, list, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Close() })
		hubs[i] = h
	}
	return hubs
}

func join(t *testing.T, h *realtime.Hub, c *testConn, app string, channels ...string) {
	t.Helper()
	if err := h.Register(c, app); err != nil {
		t.Fatal(err)
	}
	for _, ch := range channels {
		if err := h.Subscribe(context.Background(), c, ch, nil, func(realtime.SubscribeResult) {}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPublishFansOutAcrossNodesEncodingOnce(t *testing.T) {
	hubs := cluster(t, 2, realtime.Config{})
	var encodes atomic.Int32
	codec := realtime.NewCodec("test", func(ev *realtime.Event) []byte {
		encodes.Add(1)
		return []byte(ev.Name + ":" + ev.Data)
	})
	var conns []*testConn
	for i := 0; i < 6; i++ {
		c := newConn(string(rune('p'+i))+".1", codec)
		join(t, hubs[i%2], c, "app", "chat")
		conns = append(conns, c)
	}
	other := newConn("9.9", codec)
	join(t, hubs[0], other, "other-app", "chat")

	if err := hubs[1].Publish(context.Background(), realtime.Message{App: "app", Channel: "chat", Name: "ev", Data: "hi", Except: conns[0].Name}); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns[1:] {
		if got := <-c.Frames; got != "ev:hi" {
			t.Fatalf("%s got %q", c.Name, got)
		}
	}
	conns[0].None(t)
	other.None(t)
	if n := encodes.Load(); n != 2 {
		t.Fatalf("encoded %d times for 2 nodes, want 2", n)
	}
}

func TestPresenceMembersCountedOncePerUser(t *testing.T) {
	hubs := cluster(t, 2, realtime.Config{})
	ctx := context.Background()
	var mu sync.Mutex
	var life []realtime.Lifecycle
	for _, h := range hubs {
		h.OnLifecycle(func(_ context.Context, ev realtime.Lifecycle) { mu.Lock(); life = append(life, ev); mu.Unlock() })
	}
	watcher := newConn("1.1", nil)
	if err := hubs[0].Register(watcher, "app"); err != nil {
		t.Fatal(err)
	}
	sub := func(h *realtime.Hub, c *testConn, user string) realtime.SubscribeResult {
		t.Helper()
		var res realtime.SubscribeResult
		if err := h.Subscribe(ctx, c, "presence-room", &realtime.Member{UserID: user, UserInfo: []byte(`{"name":"` + user + `"}`)}, func(r realtime.SubscribeResult) { res = r }); err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := sub(hubs[0], watcher, "w"); len(res.Members) != 1 || res.Members[0].UserID != "w" {
		t.Fatalf("members %+v", res.Members)
	}
	ada1, ada2 := newConn("2.1", nil), newConn("2.2", nil)
	_ = hubs[1].Register(ada1, "app")
	_ = hubs[0].Register(ada2, "app")
	res := sub(hubs[1], ada1, "ada")
	if len(res.Members) != 2 {
		t.Fatalf("members %+v", res.Members)
	}
	ev := watcher.Next(t)
	if ev.Kind != realtime.KindMemberAdded || ev.UserID != "ada" || string(ev.UserInfo) != `{"name":"ada"}` {
		t.Fatalf("watcher got %+v", ev)
	}
	ada1.None(t) // not told about itself
	sub(hubs[0], ada2, "ada")
	watcher.None(t) // second socket of ada: no member_added
	hubs[1].Unregister(ctx, ada1)
	watcher.None(t) // ada still has a socket
	hubs[0].Unsubscribe(ctx, ada2, "presence-room")
	if ev := watcher.Next(t); ev.Kind != realtime.KindMemberRemoved || ev.UserID != "ada" {
		t.Fatalf("watcher got %+v", ev)
	}
	hubs[0].Unregister(ctx, watcher)

	mu.Lock()
	defer mu.Unlock()
	want := []realtime.LifecycleKind{realtime.ChannelOccupied, realtime.MemberAdded, realtime.MemberAdded, realtime.MemberRemoved, realtime.MemberRemoved, realtime.ChannelVacated}
	var got []realtime.LifecycleKind
	for _, l := range life {
		got = append(got, l.Kind)
	}
	if len(got) != len(want) {
		t.Fatalf("lifecycle %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("lifecycle %v, want %v", got, want)
		}
	}
}

func TestPresenceLimit(t *testing.T) {
	hubs := cluster(t, 1, realtime.Config{Limits: realtime.Limits{PresenceMembers: 2}})
	ctx := context.Background()
	for i, u := range []string{"a", "b", "c"} {
		c := newConn(string(rune('1'+i))+".1", nil)
		_ = hubs[0].Register(c, "app")
		err := hubs[0].Subscribe(ctx, c, "presence-x", &realtime.Member{UserID: u}, func(realtime.SubscribeResult) {})
		if i < 2 && err != nil || i == 2 && !errors.Is(err, realtime.ErrPresenceFull) {
			t.Fatalf("user %s: %v", u, err)
		}
	}
	if n, _ := hubs[0].Occupancy(ctx, "app", "presence-x"); n != 2 {
		t.Fatalf("occupancy %d, want 2", n)
	}
}

func TestRevokeSessionAcrossNodes(t *testing.T) {
	revs := revocation.NewMemory(nil)
	hubs := cluster(t, 2, realtime.Config{}, revs)
	ctx := context.Background()
	a, b, c := newConn("1.1", nil), newConn("1.2", nil), newConn("1.3", nil)
	join(t, hubs[0], a, "app", "chat")
	join(t, hubs[0], b, "app", "chat")
	join(t, hubs[1], c, "app", "chat")
	// The auth request for a lands on the other node; a is subscribed to
	// the channel it was authorised for.
	if err := hubs[1].BindSession(ctx, "app", a.Name, "chat", "sid-1"); err != nil {
		t.Fatal(err)
	}
	if err := hubs[1].Bind(c, "sid-1", ""); err != nil {
		t.Fatal(err)
	}
	if err := revs.Revoke(ctx, "sid-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	a.Disconnected(t, realtime.ReasonRevoked)
	c.Disconnected(t, realtime.ReasonRevoked)
	select {
	case r := <-b.Gone:
		t.Fatalf("unbound connection disconnected: %v", r)
	default:
	}
	// A late binding of the revoked session is refused everywhere.
	if err := hubs[0].Bind(b, "sid-1", ""); !errors.Is(err, realtime.ErrRevoked) {
		t.Fatalf("Bind revoked sid: %v", err)
	}
	_ = hubs[1].BindSession(ctx, "app", b.Name, "chat", "sid-1")
	b.Disconnected(t, realtime.ReasonRevoked)
}

// Whoever learns a socket id must not be able to bind that socket to their
// own session and close it by logging out: an authorisation binds only once
// the socket subscribes to the channel it was authorised for, and the first
// session to authorise a socket owns it.
func TestBindSessionCannotHijackSockets(t *testing.T) {
	revs := revocation.NewMemory(nil)
	hubs := cluster(t, 2, realtime.Config{}, revs)
	ctx := context.Background()
	revoke := func(sid string) {
		t.Helper()
		if err := revs.Revoke(ctx, sid, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	stillOpen := func(c *testConn) {
		t.Helper()
		select {
		case r := <-c.Gone:
			t.Fatalf("victim %s disconnected: %v", c.Name, r)
		default:
		}
	}

	// 1. The victim holds private-chat with its own session; the attacker
	// authorises the victim's socket for the same channel, then logs out.
	v1 := newConn("5.1", nil)
	join(t, hubs[0], v1, "app", "private-chat")
	if err := hubs[0].BindSession(ctx, "app", v1.Name, "private-chat", "sid-victim"); err != nil {
		t.Fatal(err)
	}
	_ = hubs[1].BindSession(ctx, "app", v1.Name, "private-chat", "sid-attacker")
	revoke("sid-attacker")
	stillOpen(v1)

	// 2. The attacker authorises a socket for channels it never joins.
	v2 := newConn("5.2", nil)
	join(t, hubs[0], v2, "app", "public-x")
	for _, ch := range []string{"private-a", "private-b", "presence-c"} {
		_ = hubs[1].BindSession(ctx, "app", v2.Name, ch, "sid-attacker-2")
	}
	revoke("sid-attacker-2")
	stillOpen(v2)

	// 3. The attacker is first, for the channel the victim then joins with
	// its own authorisation: the socket is contested and binds to no one.
	v3 := newConn("5.3", nil)
	join(t, hubs[0], v3, "app")
	_ = hubs[1].BindSession(ctx, "app", v3.Name, "private-chat", "sid-attacker-3")
	_ = hubs[0].BindSession(ctx, "app", v3.Name, "private-chat", "sid-victim-3")
	if err := hubs[0].Subscribe(ctx, v3, "private-chat", nil, func(realtime.SubscribeResult) {}); err != nil {
		t.Fatal(err)
	}
	revoke("sid-attacker-3")
	stillOpen(v3)

	// The owner's own logout still closes a socket it bound.
	revoke("sid-victim")
	v1.Disconnected(t, realtime.ReasonRevoked)
	stillOpen(v2)
}

// A hub that could never close a revoked session's sockets is refused.
func TestHubNeedsARevocationList(t *testing.T) {
	if _, err := realtime.New(context.Background(), realtime.Config{}, memory.New(memory.Config{}), nil, nil); err == nil {
		t.Fatal("a hub without a revocation list")
	}
}

func TestTerminateUser(t *testing.T) {
	hubs := cluster(t, 2, realtime.Config{})
	a, b, other := newConn("1.1", nil), newConn("1.2", nil), newConn("1.3", nil)
	otherApp := newConn("1.4", nil)
	join(t, hubs[0], a, "app")
	join(t, hubs[1], b, "app")
	join(t, hubs[1], other, "app")
	join(t, hubs[1], otherApp, "app2")
	for _, x := range []struct {
		c    *testConn
		h    *realtime.Hub
		user string
	}{{a, hubs[0], "u1"}, {b, hubs[1], "u1"}, {other, hubs[1], "u2"}, {otherApp, hubs[1], "u1"}} {
		if err := x.h.Bind(x.c, "", x.user); err != nil {
			t.Fatal(err)
		}
	}
	if err := hubs[0].TerminateUser(context.Background(), "app", "u1"); err != nil {
		t.Fatal(err)
	}
	a.Disconnected(t, realtime.ReasonTerminated)
	b.Disconnected(t, realtime.ReasonTerminated)
	for _, c := range []*testConn{other, otherApp} {
		select {
		case r := <-c.Gone:
			t.Fatalf("%s disconnected: %v", c.Name, r)
		default:
		}
	}
}

func TestMaxConnections(t *testing.T) {
	hubs := cluster(t, 1, realtime.Config{Limits: realtime.Limits{MaxConnections: 2}})
	for i := 0; i < 3; i++ {
		err := hubs[0].Register(newConn(string(rune('1'+i))+".1", nil), "app")
		if i < 2 && err != nil || i == 2 && !errors.Is(err, realtime.ErrOverCapacity) {
			t.Fatalf("conn %d: %v", i, err)
		}
	}
}

func TestCacheChannelReplay(t *testing.T) {
	hubs := cluster(t, 2, realtime.Config{})
	ctx := context.Background()
	first := newConn("1.1", nil)
	_ = hubs[0].Register(first, "app")
	var res realtime.SubscribeResult
	_ = hubs[0].Subscribe(ctx, first, "cache-x", nil, func(r realtime.SubscribeResult) { res = r })
	if !res.CacheMiss || res.Cached != nil {
		t.Fatalf("first subscriber: %+v", res)
	}
	_ = hubs[0].Publish(ctx, realtime.Message{App: "app", Channel: "cache-x", Name: "ev", Data: "v1"})
	later := newConn("1.2", nil)
	_ = hubs[1].Register(later, "app")
	_ = hubs[1].Subscribe(ctx, later, "cache-x", nil, func(r realtime.SubscribeResult) { res = r })
	if res.CacheMiss || res.Cached == nil || res.Cached.Data != "v1" {
		t.Fatalf("later subscriber: %+v", res)
	}
	_ = hubs[1].Subscribe(ctx, later, "plain", nil, func(r realtime.SubscribeResult) { res = r })
	if res.CacheMiss || res.Cached != nil {
		t.Fatalf("plain channel: %+v", res)
	}
}

func TestUnregisterCleansUp(t *testing.T) {
	hubs := cluster(t, 1, realtime.Config{})
	ctx := context.Background()
	c := newConn("1.1", nil)
	join(t, hubs[0], c, "app", "a", "b")
	if !hubs[0].Subscribed(c, "a") {
		t.Fatal("not subscribed")
	}
	hubs[0].Unregister(ctx, c)
	hubs[0].Unregister(ctx, c)
	chs, _ := hubs[0].Channels(ctx, "app", "")
	if len(chs) != 0 || hubs[0].Len() != 0 || hubs[0].Stats().Subscriptions != 0 {
		t.Fatalf("left behind: channels %v, conns %d", chs, hubs[0].Len())
	}
	if err := hubs[0].Subscribe(ctx, c, "a", nil, func(realtime.SubscribeResult) {}); !errors.Is(err, realtime.ErrUnknownConn) {
		t.Fatalf("subscribe after unregister: %v", err)
	}
}

func TestCloseDisconnectsWithShutdown(t *testing.T) {
	hubs := cluster(t, 1, realtime.Config{})
	c := newConn("1.1", nil)
	join(t, hubs[0], c, "app", "a")
	_ = hubs[0].Close()
	c.Disconnected(t, realtime.ReasonShutdown)
	if err := hubs[0].Register(newConn("1.2", nil), "app"); !errors.Is(err, realtime.ErrClosed) {
		t.Fatalf("Register after Close: %v", err)
	}
}

func TestNewConnIDIsSocketID(t *testing.T) {
	hubs := cluster(t, 1, realtime.Config{})
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := hubs[0].NewConnID()
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		dot := 0
		for _, r := range id {
			if r == '.' {
				dot++
			} else if r < '0' || r > '9' {
				t.Fatalf("bad id %q", id)
			}
		}
		if dot != 1 {
			t.Fatalf("bad id %q", id)
		}
	}
}

// A fan-out large enough to be shared by several goroutines still delivers
// each event once to every subscriber but the excepted one, encodes it once
// per codec, and finishes before the next event's fan-out: every socket
// sees the publisher's order.
func TestLargeFanOutSharedByGoroutines(t *testing.T) {
	prev := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(prev)
	hubs := cluster(t, 1, realtime.Config{Limits: realtime.Limits{MaxConnections: 10000}})
	var encodes atomic.Int32
	codec := realtime.NewCodec("test", func(ev *realtime.Event) []byte {
		encodes.Add(1)
		return []byte(ev.Data)
	})
	const subscribers, events = 2000, 20
	conns := make([]*testConn, subscribers)
	for i := range conns {
		conns[i] = backplanetest.NewConn(fmt.Sprintf("%d.%d", i, i), codec)
		join(t, hubs[0], conns[i], "app", "chat")
	}
	for e := 0; e < events; e++ {
		if err := hubs[0].Publish(context.Background(), realtime.Message{App: "app", Channel: "chat", Name: "ev",
			Data: fmt.Sprint(e), Except: conns[7].Name}); err != nil {
			t.Fatal(err)
		}
	}
	if n := encodes.Load(); n != events {
		t.Fatalf("%d encodes for %d events", n, events)
	}
	for i, c := range conns {
		if i == 7 {
			c.None(t)
			continue
		}
		for e := 0; e < events; e++ {
			c.Next(t)
			if got := <-c.Frames; got != fmt.Sprint(e) {
				t.Fatalf("socket %d: event %d carries %q (lost, repeated or reordered)", i, e, got)
			}
		}
	}
}

// gatedConn holds its first delivery until released, so that publishes
// queue behind it.
type gatedConn struct {
	*testConn
	first   chan struct{}
	release chan struct{}
	once    sync.Once
	calls   atomic.Int32
}

func (g *gatedConn) Deliver(ev *realtime.Event) {
	g.calls.Add(1)
	g.once.Do(func() { close(g.first); <-g.release })
	g.testConn.Deliver(ev)
}

// Publishes that queue while a fan-out runs reach each socket together:
// one delivery carrying the run, its frames back to back, built once per
// codec, in the same order on every socket.
func TestQueuedPublishesReachSocketsAsOneWrite(t *testing.T) {
	bp := memory.New(memory.Config{})
	hub, err := realtime.New(context.Background(), realtime.Config{}, bp, revocation.NewMemory(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Close() })
	var encodes atomic.Int32
	codec := realtime.NewCodec("test", func(ev *realtime.Event) []byte {
		encodes.Add(1)
		return []byte(ev.Data + ";")
	})
	g := &gatedConn{testConn: newConn("1.1", codec), first: make(chan struct{}), release: make(chan struct{})}
	other := newConn("2.2", codec)
	join(t, hub, other, "app", "chat")
	if err := hub.Register(g, "app"); err != nil {
		t.Fatal(err)
	}
	if err := hub.Subscribe(context.Background(), g, "chat", nil, func(realtime.SubscribeResult) {}); err != nil {
		t.Fatal(err)
	}
	publish := func(i int) {
		if err := hub.Publish(context.Background(), realtime.Message{App: "app", Channel: "chat", Name: "ev", Data: fmt.Sprint(i)}); err != nil {
			t.Error(err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); publish(0) }()
	<-g.first // the fan-out of event 0 is held
	for i := 1; i <= 5; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); publish(i) }()
	}
	deadline := time.Now().Add(10 * time.Second)
	for bp.Queued() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("%d publishes queued, want 5", bp.Queued())
		}
		runtime.Gosched()
	}
	close(g.release)
	wg.Wait()
	read := func(c *testConn) string {
		var frames string
		for strings.Count(frames, ";") < 6 {
			c.Next(t)
			frames += <-c.Frames
		}
		return frames
	}
	frames := read(g.testConn)
	if !strings.HasPrefix(frames, "0;") || len(frames) != len("0;1;2;3;4;5;") {
		t.Fatalf("frames %q, want event 0 then the five others", frames)
	}
	for i := 1; i <= 5; i++ {
		if !strings.Contains(frames, fmt.Sprintf(";%d;", i)) {
			t.Fatalf("frames %q miss event %d", frames, i)
		}
	}
	if n := g.calls.Load(); n != 2 {
		t.Fatalf("%d deliveries for 6 events, want 2 (event 0, then the five queued together)", n)
	}
	if n := encodes.Load(); n != 6 {
		t.Fatalf("%d encodes for 6 events", n)
	}
	if got := read(other); got != frames {
		t.Fatalf("the other socket got %q, this one %q: not one order", got, frames)
	}
	if st := hub.Stats(); st.Delivered != 12 {
		t.Fatalf("delivered %d, want 12 (6 events to 2 sockets)", st.Delivered)
	}
}
