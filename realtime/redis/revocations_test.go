package redis

import (
	"context"
	"log/slog"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/revocation"
)

// watchedList is a local list that reports each revocation it takes.
type watchedList struct {
	*revocation.Memory
	took chan string
}

func newWatched() *watchedList {
	return &watchedList{Memory: revocation.NewMemory(nil), took: make(chan string, 64)}
}

func (w *watchedList) Revoke(sid string, until time.Time) {
	w.Memory.Revoke(sid, until)
	w.took <- sid
}

func (w *watchedList) await(t *testing.T, sid string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case s := <-w.took:
			if s == sid {
				return
			}
		case <-deadline:
			t.Fatalf("%s not mirrored within %v", sid, within)
		}
	}
}

func newRevocations(t *testing.T, cfg Config, local revocation.List, missed func(context.Context, string)) *Revocations {
	t.Helper()
	r, err := NewRevocations(ctxT(t), cfg, local, missed, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("NewRevocations: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestRevocationCrossesNodes(t *testing.T) {
	cfg := testConfig(shared(t), "")
	a := newRevocations(t, cfg, revocation.NewMemory(nil), nil)
	bList := newWatched()
	b := newRevocations(t, cfg, bList, nil)

	a.Revoke("sid-1", time.Now().Add(time.Hour))
	if !a.Revoked("sid-1") {
		t.Fatal("the revoking node does not refuse sid-1 at once")
	}
	bList.await(t, "sid-1", time.Second) // SPEC §9: within 1 s
	if !b.Revoked("sid-1") {
		t.Fatal("node b does not refuse sid-1")
	}

	// A node started after the logout refuses the session from its start.
	late := newRevocations(t, cfg, revocation.NewMemory(nil), nil)
	if !late.Revoked("sid-1") {
		t.Fatal("a node started later does not refuse sid-1")
	}
	if late.Revoked("sid-2") {
		t.Fatal("sid-2 was never revoked")
	}
}

func TestRevocationLivesAsLongAsTheCredential(t *testing.T) {
	cfg := testConfig(shared(t), "")
	a := newRevocations(t, cfg, revocation.NewMemory(nil), nil)
	until := time.Now().Add(90 * time.Second)
	a.Revoke("sid-1", until)
	a.Revoke("sid-1", time.Now().Add(time.Second)) // an earlier until never shortens
	ttl, err := a.rdb.PTTL(ctxT(t), a.keys.revoked("sid-1")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl < 85*time.Second || ttl > 91*time.Second {
		t.Fatalf("TTL %v, want about 90s", ttl)
	}
	a.Revoke("sid-old", time.Now().Add(-time.Second))
	if n, _ := a.rdb.Exists(ctxT(t), a.keys.revoked("sid-old")).Result(); n != 0 {
		t.Fatal("an already expired revocation was stored")
	}
}

func TestRevocationMissedWhileDisconnected(t *testing.T) {
	cfg := testConfig(ownServer(t).url(), "") // its pub/sub connections get killed
	missed := make(chan string, 8)
	b := newRevocations(t, cfg, revocation.NewMemory(nil), func(_ context.Context, sid string) { missed <- sid })
	admin := goredis.NewClient(&goredis.Options{Addr: b.rdb.Options().Addr})
	defer admin.Close()
	ctx := ctxT(t)
	// Stored but never heard of by b, as if announced while b's pub/sub
	// connection was down.
	if err := admin.Set(ctx, b.keys.revoked("sid-missed"), time.Now().Add(time.Hour).UnixMilli(), time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if b.Revoked("sid-missed") {
		t.Fatal("b heard of sid-missed already")
	}
	if err := admin.ClientKillByFilter(ctx, "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.sub.waitUps(ctx, 2); err != nil {
		t.Fatalf("no resubscription: %v", err)
	}
	select {
	case sid := <-missed:
		if sid != "sid-missed" {
			t.Fatalf("missed %q", sid)
		}
	case <-time.After(wait):
		t.Fatal("the reload did not report sid-missed")
	}
	if !b.Revoked("sid-missed") {
		t.Fatal("b does not refuse sid-missed after the reload")
	}
}

func TestRevocationRetriedUntilRedisTakesIt(t *testing.T) {
	srv := ownServer(t)
	cfg := testConfig(srv.url(), "")
	resent := make(chan string, 8)
	a := newRevocations(t, cfg, revocation.NewMemory(nil), func(_ context.Context, sid string) { resent <- sid })
	srv.stop()
	a.Revoke("sid-1", time.Now().Add(time.Hour))
	if !a.Revoked("sid-1") {
		t.Fatal("the local list must refuse sid-1 while Redis is down")
	}
	if a.Errors() == 0 {
		t.Fatal("the failed write was not counted")
	}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	late := newRevocations(t, cfg, newWatched(), nil)
	// The pending write lands on the next heartbeat or reconnection...
	late.local.(*watchedList).await(t, "sid-1", wait)
	// ...and the hubs are told again, as their message was lost too.
	select {
	case sid := <-resent:
		if sid != "sid-1" {
			t.Fatalf("resent %q", sid)
		}
	case <-time.After(wait):
		t.Fatal("the late revocation was not sent to the hubs")
	}
}
