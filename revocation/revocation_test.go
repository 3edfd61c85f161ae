package revocation

import (
	"testing"
	"time"
)

func TestMemory(t *testing.T) {
	now := time.Unix(1000, 0)
	m := NewMemory(func() time.Time { return now })
	if m.Revoked("a") || m.Revoked("") {
		t.Fatal("nothing revoked yet")
	}
	m.Revoke("a", now.Add(time.Hour))
	m.Revoke("", now.Add(time.Hour))
	if !m.Revoked("a") {
		t.Fatal("a must be revoked")
	}
	if m.Revoked("b") {
		t.Fatal("b was never revoked")
	}
	m.Revoke("a", now.Add(time.Minute)) // an earlier until never shortens
	now = now.Add(30 * time.Minute)
	if !m.Revoked("a") {
		t.Fatal("a must stay revoked until its latest until")
	}
	now = now.Add(31 * time.Minute)
	if m.Revoked("a") {
		t.Fatal("a expired")
	}
	m.Revoke("c", now.Add(time.Minute)) // sweeps a
	if m.Len() != 1 {
		t.Fatalf("len = %d, want 1 after sweep", m.Len())
	}
}
