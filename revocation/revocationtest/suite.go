// Package revocationtest is the suite every revocation.List passes: the
// in-memory list of one process and the Redis list shared by the nodes of
// a cluster run the same checks.
package revocationtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"gatehouse/revocation"
)

// Wait bounds every wait for news from another node. It is generous: the
// machine running the tests may be loaded; nothing waits for it to pass.
const Wait = 10 * time.Second

// NewNodes returns the lists of two nodes of one cluster, with an empty
// state (an in-process list: the same list twice).
type NewNodes func(t *testing.T) (a, b revocation.List)

// Run runs the suite against lists made by newNodes.
func Run(t *testing.T, newNodes NewNodes) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, revocation.List, revocation.List)
	}{
		{"RevokedOnEveryNode", testRevokedOnEveryNode},
		{"SubscribersToldOncePerSession", testToldOnce},
		{"EmptyOrExpiredRevokesNothing", testEmptyOrExpired},
		{"StopEndsNews", testStop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newNodes(t)
			tc.fn(t, a, b)
		})
	}
}

// recorder subscribes to a list and records what it is told, in order.
type recorder struct {
	mu   sync.Mutex
	seen []string
	news chan struct{}
	stop func()
}

func record(t *testing.T, l revocation.List) *recorder {
	r := &recorder{news: make(chan struct{}, 1)}
	r.stop = l.Subscribe(func(sid string) {
		r.mu.Lock()
		r.seen = append(r.seen, sid)
		r.mu.Unlock()
		select {
		case r.news <- struct{}{}:
		default:
		}
	})
	t.Cleanup(r.stop)
	return r
}

// await waits until sid was told, failing the test after Wait.
func (r *recorder) await(t *testing.T, sid string) {
	t.Helper()
	deadline := time.NewTimer(Wait)
	defer deadline.Stop()
	for {
		if r.count(sid) > 0 {
			return
		}
		select {
		case <-r.news:
		case <-deadline.C:
			t.Fatalf("%s not told within %v (told %v)", sid, Wait, r.all())
		}
	}
}

func (r *recorder) count(sid string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.seen {
		if s == sid {
			n++
		}
	}
	return n
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func revoke(t *testing.T, l revocation.List, sid string, until time.Time) {
	t.Helper()
	if err := l.Revoke(context.Background(), sid, until); err != nil {
		t.Fatalf("Revoke(%s): %v", sid, err)
	}
}

func testRevokedOnEveryNode(t *testing.T, a, b revocation.List) {
	onB := record(t, b)
	revoke(t, a, "sid-1", time.Now().Add(time.Hour))
	if !a.Revoked("sid-1") {
		t.Fatal("the revoking node does not refuse sid-1 when Revoke returns")
	}
	onB.await(t, "sid-1")
	if !b.Revoked("sid-1") {
		t.Fatal("node b was told of sid-1 before it refuses it")
	}
	if a.Revoked("sid-2") || b.Revoked("sid-2") {
		t.Fatal("sid-2 was never revoked")
	}
}

// Notifications of one list arrive in order, so a marker revoked last and
// seen proves that nothing else is still on its way.
func testToldOnce(t *testing.T, a, b revocation.List) {
	onA, onB := record(t, a), record(t, b)
	now := time.Now()
	revoke(t, a, "sid-1", now.Add(time.Hour))
	revoke(t, a, "sid-1", now.Add(2*time.Hour)) // longer: still one revocation
	revoke(t, b, "sid-1", now.Add(time.Hour))   // the other node too
	revoke(t, a, "marker", now.Add(time.Hour))
	for name, r := range map[string]*recorder{"a": onA, "b": onB} {
		r.await(t, "marker")
		if n := r.count("sid-1"); n != 1 {
			t.Errorf("node %s told of sid-1 %d times, want once: %v", name, n, r.all())
		}
	}
}

func testEmptyOrExpired(t *testing.T, a, b revocation.List) {
	onA, onB := record(t, a), record(t, b)
	revoke(t, a, "", time.Now().Add(time.Hour))
	revoke(t, a, "sid-past", time.Now().Add(-time.Second))
	revoke(t, a, "marker", time.Now().Add(time.Hour))
	for name, r := range map[string]*recorder{"a": onA, "b": onB} {
		r.await(t, "marker")
		if got := r.all(); len(got) != 1 {
			t.Errorf("node %s told %v, want only the marker", name, got)
		}
	}
	for _, l := range []revocation.List{a, b} {
		if l.Revoked("") || l.Revoked("sid-past") {
			t.Fatal("an empty sid or an expired revocation is revoked")
		}
	}
}

func testStop(t *testing.T, a, b revocation.List) {
	stopped := record(t, b)
	stopped.stop()
	onB := record(t, b)
	revoke(t, a, "sid-1", time.Now().Add(time.Hour))
	onB.await(t, "sid-1")
	if got := stopped.all(); len(got) != 0 {
		t.Fatalf("a stopped subscriber was told %v", got)
	}
}
