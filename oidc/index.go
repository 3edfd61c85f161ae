package oidc

import (
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

// sessionIndex maps a provider's session id and subject onto our session
// ids, for back-channel logout.
type sessionIndex struct {
	mu  sync.Mutex
	max int
	now func() time.Time
	m   map[string]map[string]time.Time // key -> our sid -> until
}

func newSessionIndex(max int, now func() time.Time) *sessionIndex {
	return &sessionIndex{max: max, now: now, m: map[string]map[string]time.Time{}}
}

func sidKey(provider, idpSID string) string { return "sid\x00" + provider + "\x00" + idpSID }
func subKey(provider, sub string) string    { return "sub\x00" + provider + "\x00" + sub }

func (x *sessionIndex) add(key, sid string, until time.Time) {
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
}

func (x *sessionIndex) sweep() {
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

// take returns and forgets the sessions under key.
func (x *sessionIndex) take(key string) map[string]time.Time {
	x.mu.Lock()
	defer x.mu.Unlock()
	set := x.m[key]
	delete(x.m, key)
	return set
}
