package oidc

import (
	"context"
	"sync"
	"time"
)

// SpillStore keeps the bulky part of sessions that do not fit in a cookie
// (ID token, claims, long role lists), keyed by session id. The in-memory
// MemoryStore is the default; a shared store (Redis) can back it when
// several nodes serve the same cookies.
type SpillStore interface {
	// Put stores data for sid until the given time.
	Put(ctx context.Context, sid string, data []byte, until time.Time) error
	// Get returns the data of sid; ok is false when there is none (never
	// stored, expired, deleted or evicted).
	Get(ctx context.Context, sid string) (data []byte, ok bool, err error)
	// Delete forgets sid.
	Delete(ctx context.Context, sid string) error
}

// DefaultSpillEntries bounds the MemoryStore.
const DefaultSpillEntries = 10000

// MemoryStore is a bounded in-process SpillStore. When full it first drops
// expired entries, then the entry that expires soonest; a session whose part
// was evicted is then refused (ErrInvalidSession), never silently shrunk.
type MemoryStore struct {
	mu      sync.Mutex
	max     int
	now     func() time.Time
	entries map[string]spillEntry
}

type spillEntry struct {
	data  []byte
	until time.Time
}

var _ SpillStore = (*MemoryStore)(nil)

// NewMemoryStore returns a store holding at most max entries (<= 0 means
// DefaultSpillEntries); now is its clock (nil: time.Now).
func NewMemoryStore(max int, now func() time.Time) *MemoryStore {
	if max <= 0 {
		max = DefaultSpillEntries
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{max: max, now: now, entries: map[string]spillEntry{}}
}

// Put implements SpillStore.
func (m *MemoryStore) Put(_ context.Context, sid string, data []byte, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[sid]; !ok && len(m.entries) >= m.max {
		now := m.now()
		for k, e := range m.entries {
			if now.After(e.until) {
				delete(m.entries, k)
			}
		}
		if len(m.entries) >= m.max {
			var victim string
			var soonest time.Time
			for k, e := range m.entries {
				if victim == "" || e.until.Before(soonest) {
					victim, soonest = k, e.until
				}
			}
			delete(m.entries, victim)
		}
	}
	m.entries[sid] = spillEntry{data: append([]byte(nil), data...), until: until}
	return nil
}

// Get implements SpillStore.
func (m *MemoryStore) Get(_ context.Context, sid string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[sid]
	if !ok {
		return nil, false, nil
	}
	if m.now().After(e.until) {
		delete(m.entries, sid)
		return nil, false, nil
	}
	return e.data, true, nil
}

// Delete implements SpillStore.
func (m *MemoryStore) Delete(_ context.Context, sid string) error {
	m.mu.Lock()
	delete(m.entries, sid)
	m.mu.Unlock()
	return nil
}

// Len returns the number of entries held.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}
