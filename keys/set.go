package keys

import (
	"errors"
	"fmt"
)

// Set is an ordered collection of keys: the first is active and signs, every
// key verifies and every asymmetric one is published.
type Set struct {
	keys  []*Key
	byKID map[string]*Key
	jwks  JWKS
}

// NewSet builds a Set from keys in priority order. Key ids must be unique.
func NewSet(keys ...*Key) (*Set, error) {
	if len(keys) == 0 {
		return nil, errors.New("keys: no signing key")
	}
	s := &Set{byKID: make(map[string]*Key, len(keys)), jwks: JWKS{Keys: []JWK{}}}
	for _, k := range keys {
		if k == nil || k.KID == "" {
			return nil, errors.New("keys: key without kid")
		}
		if _, dup := s.byKID[k.KID]; dup {
			return nil, fmt.Errorf("keys: duplicate kid %q", k.KID)
		}
		s.byKID[k.KID] = k
		s.keys = append(s.keys, k)
		if j, ok := k.JWK(); ok {
			s.jwks.Keys = append(s.jwks.Keys, j)
		}
	}
	return s, nil
}

// Active returns the key that signs by default.
func (s *Set) Active() *Key { return s.keys[0] }

// ForAlg returns the first key of the given algorithm, or nil.
func (s *Set) ForAlg(alg string) *Key {
	for _, k := range s.keys {
		if k.Alg == alg {
			return k
		}
	}
	return nil
}

// Lookup returns the key with the given kid.
func (s *Set) Lookup(kid string) (*Key, bool) {
	k, ok := s.byKID[kid]
	return k, ok
}

// Keys returns the keys in priority order. The slice must not be modified.
func (s *Set) Keys() []*Key { return s.keys }

// Algorithms returns the distinct algorithms of the set, in priority order.
func (s *Set) Algorithms() []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range s.keys {
		if !seen[k.Alg] {
			seen[k.Alg] = true
			out = append(out, k.Alg)
		}
	}
	return out
}

// JWKS returns the public keys of the set. The result must not be modified.
func (s *Set) JWKS() JWKS { return s.jwks }
