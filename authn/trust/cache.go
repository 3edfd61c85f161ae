package trust

import (
	"sync"
	"time"
)

// cache keeps verified tokens until they expire, keyed by the SHA-256 of
// the token. When full it drops an arbitrary entry (map order), so a flood
// of distinct tokens costs memory bounded by the size, never a lock-out.
type cache struct {
	mu   sync.Mutex
	max  int
	byID map[[32]byte]Token
}

func newCache(size int) *cache {
	if size <= 0 {
		size = 10_000
	}
	return &cache{max: size, byID: make(map[[32]byte]Token)}
}

func (c *cache) get(key [32]byte, now time.Time) (Token, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.byID[key]
	if !ok {
		return Token{}, false
	}
	if !now.Before(t.ExpiresAt) {
		delete(c.byID, key)
		return Token{}, false
	}
	return t, true
}

func (c *cache) put(key [32]byte, t Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byID) >= c.max {
		for k := range c.byID {
			delete(c.byID, k)
			break
		}
	}
	c.byID[key] = t
}
