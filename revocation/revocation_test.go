package revocation_test

import (
	"testing"
	"time"

	"gatehouse/revocation"
	"gatehouse/revocation/revocationtest"
)

func TestMemoryConformance(t *testing.T) {
	revocationtest.Run(t, func(*testing.T) (revocation.List, revocation.List) {
		m := revocation.NewMemory(nil)
		return m, m
	})
}

func TestMemoryKeepsTheLatestUntil(t *testing.T) {
	now := time.Unix(1000, 0)
	m := revocation.NewMemory(func() time.Time { return now })
	ctx := t.Context()
	told := 0
	m.Subscribe(func(string) { told++ })
	_ = m.Revoke(ctx, "a", now.Add(time.Hour))
	_ = m.Revoke(ctx, "a", now.Add(time.Minute)) // an earlier until never shortens
	now = now.Add(30 * time.Minute)
	if !m.Revoked("a") {
		t.Fatal("a must stay revoked until its latest until")
	}
	now = now.Add(31 * time.Minute)
	if m.Revoked("a") {
		t.Fatal("a expired")
	}
	_ = m.Revoke(ctx, "a", now.Add(time.Minute)) // revoked anew: told again; sweeps nothing yet
	if told != 2 {
		t.Fatalf("told %d times, want 2 (once per revocation)", told)
	}
	now = now.Add(2 * time.Minute)
	_ = m.Revoke(ctx, "c", now.Add(time.Minute)) // sweeps a
	if m.Len() != 1 {
		t.Fatalf("len = %d, want 1 after sweep", m.Len())
	}
}
