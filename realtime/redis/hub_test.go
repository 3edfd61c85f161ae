package redis

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"gatehouse/realtime"
)

// These tests run two realtime.Hubs, each on its own Backplane to one
// Redis: two nodes as in production.

type conn struct {
	id     string
	events chan *realtime.Event
	gone   chan realtime.Reason
	once   sync.Once
}

func newConn(id string) *conn {
	return &conn{id: id, events: make(chan *realtime.Event, 64), gone: make(chan realtime.Reason, 1)}
}

func (c *conn) ID() string                   { return c.id }
func (c *conn) Deliver(ev *realtime.Event)   { c.events <- ev }
func (c *conn) Disconnect(r realtime.Reason) { c.once.Do(func() { c.gone <- r }) }

func (c *conn) next(t *testing.T) *realtime.Event {
	t.Helper()
	select {
	case ev := <-c.events:
		return ev
	case <-time.After(wait):
		t.Fatalf("%s: no event", c.id)
		return nil
	}
}

func (c *conn) disconnected(t *testing.T, want realtime.Reason) {
	t.Helper()
	select {
	case r := <-c.gone:
		if r != want {
			t.Fatalf("%s: disconnected for %v, want %v", c.id, r, want)
		}
	case <-time.After(time.Second): // SPEC §9: within 1 s
		t.Fatalf("%s: not disconnected within 1s", c.id)
	}
}

// twoNodes returns hubs a and b, on two backplanes sharing a key prefix.
func twoNodes(t *testing.T) (*realtime.Hub, *realtime.Hub) {
	t.Helper()
	bpA := newTest(t, testConfig(shared(t), "a"))
	bpB := peer(t, bpA, "b", nil)
	var hubs []*realtime.Hub
	for _, bp := range []*Backplane{bpA, bpB} {
		h, err := realtime.New(ctxT(t), realtime.Config{Node: bp.Node()}, bp, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Close() })
		hubs = append(hubs, h)
	}
	return hubs[0], hubs[1]
}

func register(t *testing.T, h *realtime.Hub, id string) *conn {
	t.Helper()
	c := newConn(id)
	if err := h.Register(c, "app"); err != nil {
		t.Fatal(err)
	}
	return c
}

func join(t *testing.T, h *realtime.Hub, c *conn, channel string, m *realtime.Member) realtime.SubscribeResult {
	t.Helper()
	var res realtime.SubscribeResult
	if err := h.Subscribe(ctxT(t), c, channel, m, func(r realtime.SubscribeResult) { res = r }); err != nil {
		t.Fatalf("Subscribe %s to %s: %v", c.id, channel, err)
	}
	return res
}

func TestHubsFanOutAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	ca, cb := register(t, a, "1.1"), register(t, b, "2.1")
	join(t, a, ca, "chat", nil)
	join(t, b, cb, "chat", nil)
	if err := b.Publish(ctxT(t), realtime.Message{App: "app", Channel: "chat", Name: "ev", Data: `{"x":1}`}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*conn{ca, cb} {
		if ev := c.next(t); ev.Name != "ev" || ev.Data != `{"x":1}` {
			t.Fatalf("%s got %+v", c.id, ev)
		}
	}
}

func TestHubsShareCacheChannels(t *testing.T) {
	a, b := twoNodes(t)
	if err := a.Publish(ctxT(t), realtime.Message{App: "app", Channel: "cache-x", Name: "ev", Data: "last"}); err != nil {
		t.Fatal(err)
	}
	res := join(t, b, register(t, b, "2.1"), "cache-x", nil)
	if res.Cached == nil || res.Cached.Data != "last" {
		t.Fatalf("late subscriber on the other node got %+v", res)
	}
}

func TestHubsPresenceAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	var mu sync.Mutex
	var lifecycle []realtime.Lifecycle
	for _, h := range []*realtime.Hub{a, b} {
		h.OnLifecycle(func(_ context.Context, l realtime.Lifecycle) {
			mu.Lock()
			defer mu.Unlock()
			lifecycle = append(lifecycle, l)
		})
	}
	ca, cb := register(t, a, "1.1"), register(t, b, "2.1")
	join(t, a, ca, "presence-room", &realtime.Member{UserID: "ada", UserInfo: []byte(`{"name":"Ada"}`)})
	res := join(t, b, cb, "presence-room", &realtime.Member{UserID: "bob"})
	var ids []string
	for _, m := range res.Members {
		ids = append(ids, m.UserID)
	}
	if !reflect.DeepEqual(ids, []string{"ada", "bob"}) || string(res.Members[0].UserInfo) != `{"name":"Ada"}` {
		t.Fatalf("bob on node b sees %+v", res.Members)
	}
	if ev := ca.next(t); ev.Kind != realtime.KindMemberAdded || ev.UserID != "bob" {
		t.Fatalf("ada on node a got %+v", ev)
	}
	b.Unregister(ctxT(t), cb)
	if ev := ca.next(t); ev.Kind != realtime.KindMemberRemoved || ev.UserID != "bob" {
		t.Fatalf("ada on node a got %+v", ev)
	}
	a.Unregister(ctxT(t), ca)
	mu.Lock()
	defer mu.Unlock()
	kinds := map[realtime.LifecycleKind]int{}
	for _, l := range lifecycle {
		kinds[l.Kind]++
	}
	want := map[realtime.LifecycleKind]int{realtime.ChannelOccupied: 1, realtime.ChannelVacated: 1,
		realtime.MemberAdded: 2, realtime.MemberRemoved: 2}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("lifecycle across the cluster %v, want each reported once: %v", kinds, want)
	}
}

func TestHubsRevokeAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	cb := register(t, b, "2.1")
	if err := a.BindSession(ctxT(t), "app", "2.1", "sid-1"); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeSession(ctxT(t), "sid-1"); err != nil {
		t.Fatal(err)
	}
	cb.disconnected(t, realtime.ReasonRevoked)
	if !b.Revoked("sid-1") {
		t.Fatal("node b does not refuse the revoked session")
	}
	late := register(t, b, "2.2")
	if err := b.Bind(late, "sid-1", ""); err == nil {
		t.Fatal("node b bound a socket to a revoked session")
	}
}

func TestHubsTerminateUserAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	cb := register(t, b, "2.1")
	if err := b.Bind(cb, "", "u1"); err != nil {
		t.Fatal(err)
	}
	if err := a.TerminateUser(ctxT(t), "app", "u1"); err != nil {
		t.Fatal(err)
	}
	cb.disconnected(t, realtime.ReasonTerminated)
}
