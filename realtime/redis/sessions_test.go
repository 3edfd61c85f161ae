package redis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/oidc"
	"gatehouse/oidc/storetest"
)

var (
	_ oidc.SpillStore   = (*SessionStore)(nil)
	_ oidc.SessionIndex = (*SessionStore)(nil)
)

// newSessionStore is a store whose values may take 8 KiB.
func newSessionStore(t *testing.T, cfg Config) *SessionStore {
	t.Helper()
	s, err := NewSessionStore(ctxT(t), cfg, 8<<10)
	if err != nil {
		t.Fatalf("NewSessionStore: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// pttl reads a key's remaining lifetime straight from Redis.
func pttl(t *testing.T, s *SessionStore, key string) time.Duration {
	t.Helper()
	d, err := s.rdb.PTTL(ctxT(t), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSessionStoreSpillCrossesNodes(t *testing.T) {
	cfg := testConfig(shared(t), "")
	a, b := newSessionStore(t, cfg), newSessionStore(t, cfg)
	ctx := ctxT(t)

	until := time.Now().Add(12 * time.Hour)
	if err := a.Put(ctx, "sid-1", []byte(`{"g":["x"]}`), until); err != nil {
		t.Fatal(err)
	}
	data, ok, err := b.Get(ctx, "sid-1")
	if err != nil || !ok || string(data) != `{"g":["x"]}` {
		t.Fatalf("node b reads %q, %v, %v", data, ok, err)
	}
	// The value lives as long as the session, and not much longer.
	if d := pttl(t, a, a.keys.spill("sid-1")); d <= 12*time.Hour-time.Minute || d > 12*time.Hour+time.Second {
		t.Fatalf("ttl %v, want about 12h", d)
	}

	if err := b.Delete(ctx, "sid-1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := a.Get(ctx, "sid-1"); ok || err != nil {
		t.Fatalf("deleted on b, still on a: %v, %v", ok, err)
	}
	if _, ok, err := a.Get(ctx, "never"); ok || err != nil {
		t.Fatalf("never stored: %v, %v", ok, err)
	}
}

func TestSessionStoreSpillBounds(t *testing.T) {
	s := newSessionStore(t, testConfig(shared(t), ""))
	ctx := ctxT(t)
	until := time.Now().Add(time.Hour)
	if err := s.Put(ctx, "big", make([]byte, 8<<10+1), until); !errors.Is(err, ErrValueTooLarge) {
		t.Fatalf("over the bound: %v", err)
	}
	if _, ok, _ := s.Get(ctx, "big"); ok {
		t.Fatal("a refused value was stored")
	}
	if err := s.Put(ctx, "fits", make([]byte, 8<<10), until); err != nil {
		t.Fatalf("at the bound: %v", err)
	}
	// A session already over stores nothing, and replaces what was there.
	if err := s.Put(ctx, "fits", []byte("x"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, "fits"); ok {
		t.Fatal("an ended session was stored")
	}
}

func TestSessionIndexCrossesNodes(t *testing.T) {
	cfg := testConfig(shared(t), "")
	a, b := newSessionStore(t, cfg), newSessionStore(t, cfg)
	ctx := ctxT(t)
	now := time.Now()
	key := oidc.IndexKey("sid", "op", "idp-sid-1")
	u1, u2 := now.Add(time.Hour).Truncate(time.Millisecond), now.Add(2*time.Hour).Truncate(time.Millisecond)
	if err := a.Add(ctx, key, "ours-1", u1); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(ctx, key, "ours-2", u2); err != nil {
		t.Fatal(err)
	}
	if err := a.Add(ctx, oidc.IndexKey("sid", "op", "idp-sid-2"), "ours-3", u1); err != nil {
		t.Fatal(err)
	}
	// The key lives as long as its last session.
	if d := pttl(t, a, a.keys.sessionIndex(key)); d <= 2*time.Hour-time.Minute || d > 2*time.Hour {
		t.Fatalf("index ttl %v, want about 2h", d)
	}

	got, err := b.Take(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"ours-1": u1, "ours-2": u2}
	if !maps.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("node b takes %v, want %v", got, want)
	}
	if again, err := a.Take(ctx, key); err != nil || len(again) != 0 {
		t.Fatalf("taken twice: %v, %v", again, err)
	}
	if other, err := b.Take(ctx, oidc.IndexKey("sid", "op", "idp-sid-2")); err != nil || len(other) != 1 {
		t.Fatalf("another key: %v, %v", other, err)
	}
}

func TestSessionIndexForgetsEndedSessions(t *testing.T) {
	cfg := testConfig(shared(t), "")
	now := time.Now()
	a := newSessionStore(t, cfg)
	later := cfg
	later.Now = func() time.Time { return now.Add(3 * time.Hour) }
	b := newSessionStore(t, later)
	ctx := ctxT(t)
	key := oidc.IndexKey("sub", "op", "ada")
	if err := a.Add(ctx, key, "ended-by-then", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.Add(ctx, key, "still-on", now.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.Add(ctx, key, "already-over", now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := b.Take(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["still-on"]; !ok || len(got) != 1 {
		t.Fatalf("three hours later: %v", got)
	}
}

func TestSessionIndexBound(t *testing.T) {
	s := newSessionStore(t, testConfig(shared(t), ""))
	ctx := ctxT(t)
	key := oidc.IndexKey("sub", "op", "busy")
	base := time.Now().Add(time.Hour)
	for i := range maxIndexedSessions + 5 {
		if err := s.Add(ctx, key, fmt.Sprint("s", i), base.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Take(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != maxIndexedSessions {
		t.Fatalf("%d sessions indexed, want %d", len(got), maxIndexedSessions)
	}
	if _, ok := got["s0"]; ok {
		t.Fatal("the session ending soonest was kept over the bound")
	}
	if _, ok := got[fmt.Sprint("s", maxIndexedSessions+4)]; !ok {
		t.Fatal("the newest session was dropped")
	}
}

func TestSessionStoreClosed(t *testing.T) {
	s := newSessionStore(t, testConfig(shared(t), ""))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if err := s.Put(ctx, "x", nil, time.Now().Add(time.Hour)); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if _, err := s.Take(ctx, "k"); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}

// TestSessionCookieOfOneNodeOnAnother: a session too large for its cookie,
// made by the session codec of node a, is read whole by node b's.
func TestSessionCookieOfOneNodeOnAnother(t *testing.T) {
	cfg := testConfig(shared(t), "")
	hash, block := make([]byte, 32), make([]byte, 32)
	for i := range hash {
		hash[i], block[i] = byte(i), byte(255-i)
	}
	codec := func(store *SessionStore) *oidc.Sessions {
		t.Helper()
		s, err := oidc.NewSessions(oidc.SessionConfig{
			CookieName: "gatehouse", HashKeys: [][]byte{hash}, BlockKeys: [][]byte{block},
			MaxAge: 12 * time.Hour, IdleTimeout: time.Hour, Store: store,
		}, false, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := codec(newSessionStore(t, cfg)), codec(newSessionStore(t, cfg))
	now := time.Now()
	sess := &oidc.Session{ID: "ours-1", Subject: "ada", Provider: "op", Created: now.Unix(), Expires: now.Add(12 * time.Hour).Unix()}
	for i := range 150 {
		sess.Groups = append(sess.Groups, fmt.Sprintf("a-rather-long-group-name-%03d", i))
	}
	ctx := ctxT(t)
	c, err := a.Cookie(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	if !sess.Spilled {
		t.Fatal("the session fit in its cookie; the test needs a larger one")
	}
	r := httptest.NewRequest("GET", "/auth/me", nil)
	r.AddCookie(c)
	id, _, ok, err := b.Identity(r)
	if err != nil || !ok {
		t.Fatalf("node b refuses node a's session: %v, %v", ok, err)
	}
	if len(id.Groups) != 150 || id.Groups[149] != sess.Groups[149] {
		t.Fatalf("node b reads groups %v", id.Groups)
	}

	b.Forget(ctx, "ours-1")
	if _, _, _, err := a.Identity(r); !errors.Is(err, oidc.ErrInvalidSession) {
		t.Fatalf("forgotten on b, still good on a: %v", err)
	}
}

// The session store's Redis errors reach the caller.
func TestSessionStoreRedisDown(t *testing.T) {
	srv := ownServer(t)
	s := newSessionStore(t, testConfig(srv.url(), ""))
	srv.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, _, err := s.Get(ctx, "x"); err == nil || errors.Is(err, goredis.Nil) {
		t.Fatalf("get with Redis down: %v", err)
	}
	if _, err := s.Take(ctx, "k"); err == nil {
		t.Fatal("take with Redis down succeeded")
	}
}

// The Redis session stores pass the same suite as the in-memory ones.
func TestSessionStoresConform(t *testing.T) {
	url := shared(t)
	fresh := func(t *testing.T) *SessionStore { return newSessionStore(t, testConfig(url, "n1")) }
	storetest.RunSpill(t, func(t *testing.T) oidc.SpillStore { return fresh(t) }, time.Now)
	storetest.RunIndex(t, func(t *testing.T) oidc.SessionIndex { return fresh(t) }, time.Now)
}
