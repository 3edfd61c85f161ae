// Package rabbitmqtest holds the conformance suite every
// fronts/rabbitmq.Users implementation passes.
package rabbitmqtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"gatehouse/fronts/rabbitmq"
	"gatehouse/policy"
)

// Clock is a settable clock for the stores under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// RunUsers runs the suite: newUsers returns a fresh, empty store whose
// clock is now (each call may share one backend: names are unique per
// subtest).
func RunUsers(t *testing.T, newUsers func(t *testing.T, now func() time.Time) rabbitmq.Users) {
	ctx := context.Background()
	rig := func(t *testing.T) (rabbitmq.Users, *Clock) {
		c := &Clock{t: time.Now()}
		return newUsers(t, c.Now), c
	}
	get := func(t *testing.T, u rabbitmq.Users, name string) (policy.Grants, bool) {
		t.Helper()
		g, ok, err := u.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return g, ok
	}
	put := func(t *testing.T, u rabbitmq.Users, name string, g policy.Grants, sid string, until time.Time) {
		t.Helper()
		if err := u.Put(ctx, name, g, sid, until); err != nil {
			t.Fatal(err)
		}
	}
	chat := policy.Grants{Subscribe: []string{"chat.*"}, Publish: []string{"chat.room"}}

	t.Run("unknown name", func(t *testing.T) {
		u, _ := rig(t)
		if _, ok := get(t, u, "nobody-"+t.Name()); ok {
			t.Fatal("a record for a name never verified")
		}
	})
	t.Run("put then get", func(t *testing.T) {
		u, c := rig(t)
		name := "ada-" + t.Name()
		put(t, u, name, chat, "s1", c.Now().Add(time.Hour))
		g, ok := get(t, u, name)
		if !ok || !slices.Equal(g.Subscribe, chat.Subscribe) || !slices.Equal(g.Publish, chat.Publish) {
			t.Fatalf("got %+v, %v", g, ok)
		}
	})
	t.Run("the same name never widens", func(t *testing.T) {
		u, c := rig(t)
		name := "bob-" + t.Name()
		put(t, u, name, policy.Grants{Publish: []string{"chat.room"}}, "s1", c.Now().Add(time.Hour))
		put(t, u, name, chat, "s2", c.Now().Add(2*time.Hour))
		g, ok := get(t, u, name)
		if !ok || len(g.Subscribe) != 0 || !slices.Equal(g.Publish, []string{"chat.room"}) {
			t.Fatalf("kept %+v, %v", g, ok)
		}
		c.Add(90 * time.Minute) // past the first record's end: the earlier end was kept
		if _, ok := get(t, u, name); ok {
			t.Fatal("the record outlived the first verification's end")
		}
	})
	t.Run("an ended record is replaced, not narrowed", func(t *testing.T) {
		u, c := rig(t)
		name := "cy-" + t.Name()
		put(t, u, name, policy.Grants{}, "s1", c.Now().Add(time.Minute))
		c.Add(2 * time.Minute)
		if _, ok := get(t, u, name); ok {
			t.Fatal("an ended record is still live")
		}
		put(t, u, name, chat, "s2", c.Now().Add(time.Hour))
		if g, ok := get(t, u, name); !ok || !slices.Equal(g.Publish, chat.Publish) {
			t.Fatalf("got %+v, %v", g, ok)
		}
	})
	t.Run("drop a session", func(t *testing.T) {
		u, c := rig(t)
		a, b, other := "dee-"+t.Name(), "dee-"+t.Name()+"/phone", "eve-"+t.Name()
		sid := "sid-" + t.Name()
		put(t, u, a, chat, sid, c.Now().Add(time.Hour))
		put(t, u, b, chat, sid, c.Now().Add(time.Hour))
		put(t, u, other, chat, "other-"+sid, c.Now().Add(time.Hour))
		names, err := u.DropSession(ctx, sid)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{a, b}) {
			t.Fatalf("dropped %v, want %v", names, []string{a, b})
		}
		for _, n := range []string{a, b} {
			if _, ok := get(t, u, n); ok {
				t.Fatalf("%s kept after its session was dropped", n)
			}
		}
		if _, ok := get(t, u, other); !ok {
			t.Fatal("another session's user was dropped")
		}
		if names, err := u.DropSession(ctx, sid); err != nil || len(names) != 0 {
			t.Fatalf("dropping again: %v, %v", names, err)
		}
	})
	t.Run("a name verified with two sessions is dropped by either", func(t *testing.T) {
		for _, first := range []bool{true, false} {
			u, c := rig(t)
			name := fmt.Sprintf("fay-%s-%v", t.Name(), first)
			one, two := "first-"+name, "second-"+name
			put(t, u, name, chat, one, c.Now().Add(time.Hour))
			put(t, u, name, chat, two, c.Now().Add(time.Hour))
			drop := two
			if first {
				drop = one
			}
			if names, err := u.DropSession(ctx, drop); err != nil || !slices.Equal(names, []string{name}) {
				t.Fatalf("dropping %s: %v, %v", drop, names, err)
			}
			if _, ok := get(t, u, name); ok {
				t.Fatal("the record outlived a logout of one of its sessions")
			}
		}
	})
	t.Run("a record remembers a bounded number of sessions", func(t *testing.T) {
		u, c := rig(t)
		name := "gus-" + t.Name()
		for i := range rabbitmq.MaxSessionsPerUser + 10 {
			put(t, u, name, chat, fmt.Sprintf("s%d-%s", i, name), c.Now().Add(time.Hour))
		}
		last := fmt.Sprintf("s%d-%s", rabbitmq.MaxSessionsPerUser+9, name)
		if names, err := u.DropSession(ctx, last); err != nil || !slices.Equal(names, []string{name}) {
			t.Fatalf("dropping the newest session: %v, %v", names, err)
		}
	})
}
