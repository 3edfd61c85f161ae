package oidc

import (
	"context"
	"net/url"
	"sync"
	"time"
)

// expirySet remembers keys until their expiry: used login states, so that a
// callback replayed with the same login cookie fails.
type expirySet struct {
	mu  sync.Mutex
	max int
	now func() time.Time
	m   map[string]time.Time
}

func newExpirySet(max int, now func() time.Time) *expirySet {
	return &expirySet{max: max, now: now, m: map[string]time.Time{}}
}

// add records key until the given time; it reports false when the key was
// already there (a replay).
func (s *expirySet) add(key string, until time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if u, ok := s.m[key]; ok && !now.After(u) {
		return false
	}
	if len(s.m) >= s.max {
		for k, u := range s.m {
			if now.After(u) {
				delete(s.m, k)
			}
		}
		for k := range s.m { // still full: forget an arbitrary entry
			if len(s.m) < s.max {
				break
			}
			delete(s.m, k)
		}
	}
	s.m[key] = until
	return true
}

// SessionIndex maps a provider's session id and subject onto our session
// ids, so that a back-channel logout finds the sessions to revoke. Keys are
// made by the relying party (see IndexKey). The in-memory MemoryIndex is the
// default; a shared index (Redis) lets a logout that reaches any node find
// the sessions made on every node.
type SessionIndex interface {
	// Add records our session sid under key until the given time.
	Add(ctx context.Context, key, sid string, until time.Time) error
	// Take returns the sessions under key that have not ended, each with its
	// end, and forgets them all.
	Take(ctx context.Context, key string) (map[string]time.Time, error)
}

// IndexKey names one provider's session id (kind "sid") or subject (kind
// "sub") in a SessionIndex. Both names are escaped, so no two differ only
// in where one ends.
func IndexKey(kind, provider, name string) string {
	return kind + ":" + url.QueryEscape(provider) + ":" + url.QueryEscape(name)
}

func sidKey(provider, idpSID string) string { return IndexKey("sid", provider, idpSID) }
func subKey(provider, sub string) string    { return IndexKey("sub", provider, sub) }

// DefaultIndexKeys bounds the MemoryIndex.
const DefaultIndexKeys = 100000

// MemoryIndex is a bounded in-process SessionIndex. When full it first
// drops ended sessions, then arbitrary keys.
type MemoryIndex struct {
	mu  sync.Mutex
	max int
	now func() time.Time
	m   map[string]map[string]time.Time // key -> our sid -> until
}

var _ SessionIndex = (*MemoryIndex)(nil)

// NewMemoryIndex returns an index holding at most max keys (<= 0 means
// DefaultIndexKeys); now is its clock (nil: time.Now).
func NewMemoryIndex(max int, now func() time.Time) *MemoryIndex {
	if max <= 0 {
		max = DefaultIndexKeys
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryIndex{max: max, now: now, m: map[string]map[string]time.Time{}}
}

// Add implements SessionIndex.
func (x *MemoryIndex) Add(_ context.Context, key, sid string, until time.Time) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.m[key]; !ok && len(x.m) >= x.max {
		x.sweep()
	}
	set := x.m[key]
	if set == nil {
		set = map[string]time.Time{}
		x.m[key] = set
	}
	set[sid] = until
	return nil
}

func (x *MemoryIndex) sweep() {
	now := x.now()
	for k, set := range x.m {
		for sid, u := range set {
			if now.After(u) {
				delete(set, sid)
			}
		}
		if len(set) == 0 {
			delete(x.m, k)
		}
	}
	for k := range x.m {
		if len(x.m) < x.max {
			break
		}
		delete(x.m, k)
	}
}

// Take implements SessionIndex.
func (x *MemoryIndex) Take(_ context.Context, key string) (map[string]time.Time, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	set := x.m[key]
	delete(x.m, key)
	now := x.now()
	for sid, u := range set {
		if now.After(u) {
			delete(set, sid)
		}
	}
	return set, nil
}
