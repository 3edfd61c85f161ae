package redis

import (
	"context"
	"log/slog"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/revocation"
	"gatehouse/revocation/revocationtest"
)

var _ revocation.List = (*Revocations)(nil)

func newRevocations(t *testing.T, cfg Config) *Revocations {
	t.Helper()
	r, err := NewRevocations(ctxT(t), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("NewRevocations: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// told collects the session ids a list tells its subscribers of.
func told(t *testing.T, l revocation.Watcher) chan string {
	ch := make(chan string, 64)
	t.Cleanup(l.Subscribe(func(sid string) { ch <- sid }))
	return ch
}

// awaitSID waits for sid on ch, skipping others, failing after wait.
func awaitSID(t *testing.T, ch chan string, sid string) {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		select {
		case s := <-ch:
			if s == sid {
				return
			}
		case <-deadline.C:
			t.Fatalf("%s not told within %v", sid, wait)
		}
	}
}

// TestRevocationsConformance runs the suite of every revocation list on two
// nodes of one real redis-server.
func TestRevocationsConformance(t *testing.T) {
	revocationtest.Run(t, func(t *testing.T) (revocation.List, revocation.List) {
		cfg := testConfig(shared(t), "")
		return newRevocations(t, cfg), newRevocations(t, cfg)
	})
}

func TestRevocationReachesLateNodes(t *testing.T) {
	cfg := testConfig(shared(t), "")
	a := newRevocations(t, cfg)
	if err := a.Revoke(ctxT(t), "sid-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A node started after the logout refuses the session from its start.
	late := newRevocations(t, cfg)
	if !late.Revoked("sid-1") {
		t.Fatal("a node started later does not refuse sid-1")
	}
	if late.Revoked("sid-2") {
		t.Fatal("sid-2 was never revoked")
	}
}

func TestRevocationLivesAsLongAsTheCredential(t *testing.T) {
	cfg := testConfig(shared(t), "")
	a := newRevocations(t, cfg)
	ctx := ctxT(t)
	until := time.Now().Add(90 * time.Second)
	_ = a.Revoke(ctx, "sid-1", until)
	_ = a.Revoke(ctx, "sid-1", time.Now().Add(time.Second)) // an earlier until never shortens
	ttl, err := a.rdb.PTTL(ctx, a.keys.revoked("sid-1")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl < 85*time.Second || ttl > 91*time.Second {
		t.Fatalf("TTL %v, want about 90s", ttl)
	}
	_ = a.Revoke(ctx, "sid-old", time.Now().Add(-time.Second))
	if n, _ := a.rdb.Exists(ctx, a.keys.revoked("sid-old")).Result(); n != 0 {
		t.Fatal("an already expired revocation was stored")
	}
}

// A revocation announced while this node's pub/sub connection was down is
// found by the reload after the reconnection and told to the subscribers
// (the hub then closes the session's sockets).
func TestRevocationMissedWhileDisconnected(t *testing.T) {
	cfg := testConfig(ownServer(t).url(), "") // its pub/sub connections get killed
	b := newRevocations(t, cfg)
	news := told(t, b)
	admin := goredis.NewClient(&goredis.Options{Addr: b.rdb.(*goredis.Client).Options().Addr})
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
	awaitSID(t, news, "sid-missed")
	if !b.Revoked("sid-missed") {
		t.Fatal("b does not refuse sid-missed after the reload")
	}
}

// A revocation made while Redis is down holds on its own node at once, and
// reaches the other nodes (their subscribers included) once Redis takes it.
func TestRevocationRetriedUntilRedisTakesIt(t *testing.T) {
	srv := ownServer(t)
	cfg := testConfig(srv.url(), "")
	a := newRevocations(t, cfg)
	onA := told(t, a)
	srv.stop()
	if err := a.Revoke(ctxT(t), "sid-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("a revocation kept for retry is not an error: %v", err)
	}
	if !a.Revoked("sid-1") {
		t.Fatal("the local list must refuse sid-1 while Redis is down")
	}
	awaitSID(t, onA, "sid-1") // this node's sockets close at once
	if a.Errors() == 0 {
		t.Fatal("the failed write was not counted")
	}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	late := newRevocations(t, cfg)
	onLate := told(t, late)
	// The pending write lands on the next heartbeat or reconnection; it is
	// either loaded by late at start or announced to it.
	if !late.Revoked("sid-1") {
		awaitSID(t, onLate, "sid-1")
	}
}

func TestRevokeAfterCloseFails(t *testing.T) {
	r := newRevocations(t, testConfig(shared(t), ""))
	_ = r.Close()
	if err := r.Revoke(context.Background(), "sid-1", time.Now().Add(time.Hour)); err == nil {
		t.Fatal("Revoke on a closed list succeeded")
	}
}
