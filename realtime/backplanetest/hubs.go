package backplanetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"gatehouse/realtime"
	"gatehouse/revocation"
)

// NewNodes returns the backplanes of two nodes of one cluster (the same
// backplane twice for an in-process one).
type NewNodes func(t *testing.T) (a, b realtime.Backplane)

// RunHubs runs two realtime.Hubs, one per node, on backplanes made by
// newNodes, and checks what a cluster must do: fan-out, cache channels,
// presence, revocation and termination across nodes. The hubs share one
// in-process revocation list (the revocation lists have their own suite,
// revocationtest); what crosses the backplane here is the session binding.
func RunHubs(t *testing.T, newNodes NewNodes) {
	tests := []struct {
		name string
		fn   func(*testing.T, *realtime.Hub, *realtime.Hub)
		// withList is fn for the tests that revoke.
		withList func(*testing.T, *realtime.Hub, *realtime.Hub, revocation.List)
	}{
		{name: "FanOutAcrossNodes", fn: testHubsFanOut},
		{name: "CacheChannelsAcrossNodes", fn: testHubsCache},
		{name: "PresenceAcrossNodes", fn: testHubsPresence},
		{name: "RevokeAcrossNodes", withList: testHubsRevoke},
		{name: "TerminateUserAcrossNodes", fn: testHubsTerminate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			revs := revocation.NewMemory(nil)
			bpA, bpB := newNodes(t)
			var hubs []*realtime.Hub
			for i, bp := range []realtime.Backplane{bpA, bpB} {
				node := string(rune('a' + i))
				if n, ok := bp.(interface{ Node() string }); ok {
					node = n.Node()
				}
				h, err := realtime.New(ctx(t), realtime.Config{Node: node}, bp, revs, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = h.Close() })
				hubs = append(hubs, h)
			}
			if tt.withList != nil {
				tt.withList(t, hubs[0], hubs[1], revs)
				return
			}
			tt.fn(t, hubs[0], hubs[1])
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), Wait)
	t.Cleanup(cancel)
	return c
}

func register(t *testing.T, h *realtime.Hub, id string) *Conn {
	t.Helper()
	c := NewConn(id, nil)
	if err := h.Register(c, "app"); err != nil {
		t.Fatal(err)
	}
	return c
}

func join(t *testing.T, h *realtime.Hub, c *Conn, channel string, m *realtime.Member) realtime.SubscribeResult {
	t.Helper()
	var res realtime.SubscribeResult
	if err := h.Subscribe(ctx(t), c, channel, m, func(r realtime.SubscribeResult) { res = r }); err != nil {
		t.Fatalf("Subscribe %s to %s: %v", c.Name, channel, err)
	}
	return res
}

func testHubsFanOut(t *testing.T, a, b *realtime.Hub) {
	ca, cb := register(t, a, "1.1"), register(t, b, "2.1")
	join(t, a, ca, "chat", nil)
	join(t, b, cb, "chat", nil)
	if err := b.Publish(ctx(t), realtime.Message{App: "app", Channel: "chat", Name: "ev", Data: `{"x":1}`}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Conn{ca, cb} {
		if ev := c.Next(t); ev.Name != "ev" || ev.Data != `{"x":1}` {
			t.Fatalf("%s got %+v", c.Name, ev)
		}
	}
}

func testHubsCache(t *testing.T, a, b *realtime.Hub) {
	if err := a.Publish(ctx(t), realtime.Message{App: "app", Channel: "cache-x", Name: "ev", Data: "last"}); err != nil {
		t.Fatal(err)
	}
	res := join(t, b, register(t, b, "2.1"), "cache-x", nil)
	if res.Cached == nil || res.Cached.Data != "last" {
		t.Fatalf("late subscriber on the other node got %+v", res)
	}
}

func testHubsPresence(t *testing.T, a, b *realtime.Hub) {
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
	if ev := ca.Next(t); ev.Kind != realtime.KindMemberAdded || ev.UserID != "bob" {
		t.Fatalf("ada on node a got %+v", ev)
	}
	b.Unregister(ctx(t), cb)
	if ev := ca.Next(t); ev.Kind != realtime.KindMemberRemoved || ev.UserID != "bob" {
		t.Fatalf("ada on node a got %+v", ev)
	}
	a.Unregister(ctx(t), ca)
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

func testHubsRevoke(t *testing.T, a, b *realtime.Hub, revs revocation.List) {
	cb := register(t, b, "2.1")
	if err := b.Subscribe(ctx(t), cb, "private-x", nil, func(realtime.SubscribeResult) {}); err != nil {
		t.Fatal(err)
	}
	// The binding crosses the backplane; the revocation may reach node b
	// before or after it: either way the socket closes.
	if err := a.BindSession(ctx(t), "app", "2.1", "private-x", "sid-1"); err != nil {
		t.Fatal(err)
	}
	if err := revs.Revoke(ctx(t), "sid-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cb.Disconnected(t, realtime.ReasonRevoked)
	late := register(t, b, "2.2")
	if err := b.Bind(late, "sid-1", ""); err == nil {
		t.Fatal("node b bound a socket to a revoked session")
	}
}

func testHubsTerminate(t *testing.T, a, b *realtime.Hub) {
	cb := register(t, b, "2.1")
	if err := b.Bind(cb, "", "u1"); err != nil {
		t.Fatal(err)
	}
	if err := a.TerminateUser(ctx(t), "app", "u1"); err != nil {
		t.Fatal(err)
	}
	cb.Disconnected(t, realtime.ReasonTerminated)
}
