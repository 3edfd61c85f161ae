package realtime_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"gatehouse/realtime"
	"gatehouse/realtime/memory"
	"gatehouse/revocation"
)

type nopConn struct{ id string }

func (c *nopConn) ID() string                   { return c.id }
func (c *nopConn) Deliver(*realtime.Event)      {}
func (c *nopConn) Disconnect(_ realtime.Reason) {}

func newLimitedHub(t *testing.T, l realtime.Limits) *realtime.Hub {
	t.Helper()
	h, err := realtime.New(context.Background(), realtime.Config{Limits: l}, memory.New(memory.Config{}), revocation.NewMemory(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func TestChannelsPerConnection(t *testing.T) {
	h := newLimitedHub(t, realtime.Limits{ChannelsPerConnection: 3})
	c := &nopConn{id: "1.1"}
	if err := h.Register(c, "app"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		if err := h.Subscribe(ctx, c, fmt.Sprintf("ch-%d", i), nil, func(realtime.SubscribeResult) {}); err != nil {
			t.Fatal(err)
		}
	}
	// Again on a held channel: no new subscription, not refused.
	if err := h.Subscribe(ctx, c, "ch-0", nil, func(realtime.SubscribeResult) {}); err != nil {
		t.Fatalf("resubscribe: %v", err)
	}
	if err := h.Subscribe(ctx, c, "ch-3", nil, func(realtime.SubscribeResult) {}); !errors.Is(err, realtime.ErrTooManyChannels) {
		t.Fatalf("4th channel: %v", err)
	}
	if n := h.RefusedCount(realtime.RefusedChannelCap); n != 1 {
		t.Fatalf("refusals counted %d", n)
	}
	h.Unsubscribe(ctx, c, "ch-1")
	if err := h.Subscribe(ctx, c, "ch-3", nil, func(realtime.SubscribeResult) {}); err != nil {
		t.Fatalf("after leaving one: %v", err)
	}
	// The default is generous but finite.
	if l := newLimitedHub(t, realtime.Limits{}).Limits(); l.ChannelsPerConnection != realtime.DefaultChannelsPerConnection || l.ConnectionsPerIP != 0 {
		t.Fatalf("defaults %+v", l)
	}
}

func TestFrameBucket(t *testing.T) {
	h := newLimitedHub(t, realtime.Limits{FramesPerSecond: 10, FrameBurst: 5})
	b := h.NewFrameBucket()
	now := time.Unix(1_800_000_000, 0)
	for i := range 5 {
		if !b.Allow(now) {
			t.Fatalf("burst frame %d refused", i)
		}
	}
	if b.Allow(now) {
		t.Fatal("6th frame in the same instant allowed")
	}
	// 100 ms refills one token at 10/s.
	now = now.Add(100 * time.Millisecond)
	if !b.Allow(now) || b.Allow(now) {
		t.Fatal("refill is not one token per 100 ms")
	}
	// A steady client at the rate is never refused.
	for range 1000 {
		now = now.Add(100 * time.Millisecond)
		if !b.Allow(now) {
			t.Fatal("a client at the rate was refused")
		}
	}
	// An idle client refills to the burst, not beyond.
	now = now.Add(time.Hour)
	for i := range 5 {
		if !b.Allow(now) {
			t.Fatalf("refilled burst frame %d refused", i)
		}
	}
	if b.Allow(now) {
		t.Fatal("bucket refilled beyond its burst")
	}
}

func TestAdmitAddress(t *testing.T) {
	off := newLimitedHub(t, realtime.Limits{})
	for range 100 {
		if _, err := off.AdmitAddress("10.0.0.1"); err != nil {
			t.Fatal("no cap configured, yet refused")
		}
	}
	h := newLimitedHub(t, realtime.Limits{ConnectionsPerIP: 2})
	r1, err1 := h.AdmitAddress("10.0.0.1")
	_, err2 := h.AdmitAddress("10.0.0.1")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := h.AdmitAddress("10.0.0.1"); !errors.Is(err, realtime.ErrTooManyFromIP) {
		t.Fatalf("3rd from one IPv4: %v", err)
	}
	if _, err := h.AdmitAddress("::ffff:10.0.0.1"); !errors.Is(err, realtime.ErrTooManyFromIP) {
		t.Fatalf("the same address mapped into IPv6: %v", err)
	}
	if _, err := h.AdmitAddress("10.0.0.2"); err != nil {
		t.Fatalf("another IPv4: %v", err)
	}
	// Releasing twice frees one place only.
	r1()
	r1()
	if _, err := h.AdmitAddress("10.0.0.1"); err != nil {
		t.Fatalf("after release: %v", err)
	}
	if _, err := h.AdmitAddress("10.0.0.1"); !errors.Is(err, realtime.ErrTooManyFromIP) {
		t.Fatalf("double release freed two places: %v", err)
	}
	// IPv6 counts per /64: one line cannot rotate through its addresses.
	_, _ = h.AdmitAddress("2001:db8:1:2::1")
	_, _ = h.AdmitAddress("2001:db8:1:2::ffff")
	if _, err := h.AdmitAddress("2001:db8:1:2:aaaa::9"); !errors.Is(err, realtime.ErrTooManyFromIP) {
		t.Fatalf("third address of one /64: %v", err)
	}
	if _, err := h.AdmitAddress("2001:db8:1:3::1"); err != nil {
		t.Fatalf("another /64: %v", err)
	}
	if n := h.RefusedCount(realtime.RefusedIPCap); n != 4 {
		t.Fatalf("refusals counted %d, want 4", n)
	}
}
