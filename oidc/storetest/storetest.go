// Package storetest is the conformance suite every implementation of the
// oidc session stores must pass (oidc.SpillStore and oidc.SessionIndex),
// run against the in-memory stores in oidc and the Redis ones in
// realtime/redis, so the two never drift apart.
package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"gatehouse/oidc"
)

// Wait bounds each store call.
const Wait = 5 * time.Second

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), Wait)
	t.Cleanup(cancel)
	return c
}

// RunSpill checks a SpillStore. newStore returns a fresh, empty store each
// call; now is the clock the store was built with.
func RunSpill(t *testing.T, newStore func(t *testing.T) oidc.SpillStore, now func() time.Time) {
	t.Run("round trip", func(t *testing.T) {
		s := newStore(t)
		data := []byte(`{"groups":["/org/a","/org/b"]}`)
		if err := s.Put(ctx(t), "sid-1", data, now().Add(time.Hour)); err != nil {
			t.Fatalf("Put: %v", err)
		}
		data[0] = 'X' // the store keeps its own copy
		got, ok, err := s.Get(ctx(t), "sid-1")
		if err != nil || !ok || !bytes.Equal(got, []byte(`{"groups":["/org/a","/org/b"]}`)) {
			t.Fatalf("Get = %q %v %v", got, ok, err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, ok, err := newStore(t).Get(ctx(t), "never"); ok || err != nil {
			t.Fatalf("Get of an unknown sid: ok=%v err=%v", ok, err)
		}
	})
	t.Run("overwrite", func(t *testing.T) {
		s := newStore(t)
		_ = s.Put(ctx(t), "sid-1", []byte("one"), now().Add(time.Hour))
		if err := s.Put(ctx(t), "sid-1", []byte("two"), now().Add(time.Hour)); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if got, ok, _ := s.Get(ctx(t), "sid-1"); !ok || string(got) != "two" {
			t.Fatalf("Get = %q %v", got, ok)
		}
	})
	t.Run("delete", func(t *testing.T) {
		s := newStore(t)
		_ = s.Put(ctx(t), "sid-1", []byte("one"), now().Add(time.Hour))
		_ = s.Put(ctx(t), "sid-2", []byte("two"), now().Add(time.Hour))
		if err := s.Delete(ctx(t), "sid-1"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, ok, _ := s.Get(ctx(t), "sid-1"); ok {
			t.Fatal("deleted sid still there")
		}
		if _, ok, _ := s.Get(ctx(t), "sid-2"); !ok {
			t.Fatal("Delete removed another sid")
		}
		if err := s.Delete(ctx(t), "never"); err != nil {
			t.Fatalf("Delete of an unknown sid: %v", err)
		}
	})
	t.Run("already ended", func(t *testing.T) {
		s := newStore(t)
		_ = s.Put(ctx(t), "sid-1", []byte("one"), now().Add(-time.Second))
		if _, ok, _ := s.Get(ctx(t), "sid-1"); ok {
			t.Fatal("a session that already ended must not be returned")
		}
	})
}

// RunIndex checks a SessionIndex. newIndex returns a fresh, empty index each
// call; now is the clock the index was built with.
func RunIndex(t *testing.T, newIndex func(t *testing.T) oidc.SessionIndex, now func() time.Time) {
	key := oidc.IndexKey("sid", "auth0", "idp-session-1")
	other := oidc.IndexKey("sub", "auth0", "auth0|42")
	t.Run("take returns and forgets", func(t *testing.T) {
		x := newIndex(t)
		end1, end2 := now().Add(time.Hour).Truncate(time.Second), now().Add(2*time.Hour).Truncate(time.Second)
		for sid, end := range map[string]time.Time{"s1": end1, "s2": end2} {
			if err := x.Add(ctx(t), key, sid, end); err != nil {
				t.Fatalf("Add: %v", err)
			}
		}
		_ = x.Add(ctx(t), other, "s3", end1)
		got, err := x.Take(ctx(t), key)
		if err != nil || len(got) != 2 || !got["s1"].Equal(end1) || !got["s2"].Equal(end2) {
			t.Fatalf("Take = %v %v", got, err)
		}
		if again, err := x.Take(ctx(t), key); err != nil || len(again) != 0 {
			t.Fatalf("second Take = %v %v", again, err)
		}
		if rest, _ := x.Take(ctx(t), other); len(rest) != 1 {
			t.Fatalf("another key was touched: %v", rest)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		if got, err := newIndex(t).Take(ctx(t), key); err != nil || len(got) != 0 {
			t.Fatalf("Take = %v %v", got, err)
		}
	})
	t.Run("ended sessions are not returned", func(t *testing.T) {
		x := newIndex(t)
		_ = x.Add(ctx(t), key, "gone", now().Add(-time.Second))
		_ = x.Add(ctx(t), key, "live", now().Add(time.Hour))
		got, err := x.Take(ctx(t), key)
		if err != nil || len(got) != 1 {
			t.Fatalf("Take = %v %v", got, err)
		}
		if _, ok := got["live"]; !ok {
			t.Fatalf("live session missing: %v", got)
		}
	})
	t.Run("later add extends", func(t *testing.T) {
		x := newIndex(t)
		end := now().Add(2 * time.Hour).Truncate(time.Second)
		_ = x.Add(ctx(t), key, "s1", now().Add(time.Hour))
		_ = x.Add(ctx(t), key, "s1", end)
		if got, _ := x.Take(ctx(t), key); len(got) != 1 || !got["s1"].Equal(end) {
			t.Fatalf("Take = %v", got)
		}
	})
}
