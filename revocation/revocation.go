package revocation

import (
	"context"
	"sync"
	"time"
)

// Checker reports whether a session id was revoked. Verifiers of cookies
// and tokens depend on this alone.
type Checker interface {
	Revoked(sid string) bool
}

// Watcher is a Checker that also tells of each session id as it becomes
// revoked. The realtime hub depends on this: it closes the sockets of a
// session the moment the session is revoked, here or on another node.
type Watcher interface {
	Checker
	// Subscribe calls fn with every session id that becomes revoked from
	// now on, whether revoked here or, for a list shared by several nodes,
	// on another node; once per session id while it stays revoked. fn runs
	// on the goroutine that learnt of the revocation, after Revoked already
	// reports it, and must not block for long. Revocations learnt after
	// stop returns are not told to fn.
	Subscribe(fn func(sid string)) (stop func())
}

// List records revocations: the one revocation API. Every implementation
// passes revocationtest.Run.
type List interface {
	Watcher
	// Revoke revokes sid until `until`, the latest time a credential
	// carrying it could still be valid; an earlier until never shortens a
	// revocation, and an empty sid or an until already past revokes
	// nothing. Revoked reports it at once on this node when Revoke returns,
	// whatever the error.
	Revoke(ctx context.Context, sid string, until time.Time) error
}

// Memory is an in-process List. Expired entries are swept as new ones come.
type Memory struct {
	mu        sync.RWMutex
	now       func() time.Time
	entries   map[string]time.Time
	nextSweep time.Time
	subs      map[int]func(string)
	nextSub   int
}

var _ List = (*Memory)(nil)

// NewMemory returns an empty list using now as its clock (nil: time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, entries: map[string]time.Time{}, subs: map[int]func(string){}}
}

// Revoke records sid as revoked until the given time and tells the
// subscribers when sid was not revoked before. It never fails.
func (m *Memory) Revoke(_ context.Context, sid string, until time.Time) error {
	if sid == "" {
		return nil
	}
	now := m.now()
	m.mu.Lock()
	old, had := m.entries[sid]
	wasRevoked := had && !now.After(old)
	if !had || until.After(old) {
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
	var tell []func(string)
	if !wasRevoked && !now.After(until) {
		tell = make([]func(string), 0, len(m.subs))
		for _, fn := range m.subs {
			tell = append(tell, fn)
		}
	}
	m.mu.Unlock()
	for _, fn := range tell {
		fn(sid)
	}
	return nil
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

// Subscribe implements Watcher.
func (m *Memory) Subscribe(fn func(sid string)) (stop func()) {
	m.mu.Lock()
	id := m.nextSub
	m.nextSub++
	m.subs[id] = fn
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		delete(m.subs, id)
		m.mu.Unlock()
	}
}

// Len returns the number of entries kept (expired ones included until swept).
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.entries)
}

// CheckerFunc is a function used as a Checker.
type CheckerFunc func(sid string) bool

// Revoked implements Checker.
func (f CheckerFunc) Revoked(sid string) bool { return f(sid) }
