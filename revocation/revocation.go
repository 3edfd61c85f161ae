package revocation

import (
	"sync"
	"time"
)

// Checker reports whether a session id was revoked. Verifiers depend on this
// alone.
type Checker interface {
	Revoked(sid string) bool
}

// List records revocations. An entry is kept until `until`, the latest time a
// credential carrying the sid could still be valid.
type List interface {
	Checker
	Revoke(sid string, until time.Time)
}

// Memory is an in-process List. Expired entries are swept as new ones come.
type Memory struct {
	mu        sync.RWMutex
	now       func() time.Time
	entries   map[string]time.Time
	nextSweep time.Time
}

var _ List = (*Memory)(nil)

// NewMemory returns an empty list using now as its clock (nil: time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, entries: map[string]time.Time{}}
}

// Revoke records sid as revoked until the given time.
func (m *Memory) Revoke(sid string, until time.Time) {
	if sid == "" {
		return
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.entries[sid]; !ok || until.After(old) {
		m.entries[sid] = until
	}
	if now.After(m.nextSweep) {
		for k, u := range m.entries {
			if now.After(u) {
				delete(m.entries, k)
			}
		}
		m.nextSweep = now.Add(time.Minute)
	}
}

// Revoked reports whether sid is revoked now.
func (m *Memory) Revoked(sid string) bool {
	if sid == "" {
		return false
	}
	m.mu.RLock()
	until, ok := m.entries[sid]
	m.mu.RUnlock()
	return ok && !m.now().After(until)
}

// Len returns the number of entries kept (expired ones included until swept).
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.entries)
}
