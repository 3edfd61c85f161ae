package issuer

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
)

// DefaultCacheSize is the number of verified tokens a Cache holds when
// NewCache is given no size.
const DefaultCacheSize = 64 << 10

// cacheShards spreads the cache over independently locked shards so that
// concurrent verifiers rarely contend.
const cacheShards = 32

// cacheKey is the SHA-256 of a whole compact token. A collision would need a
// second preimage of SHA-256, so a hit proves the same bytes were verified
// before: nobody can forge a token that answers from another's entry.
type cacheKey [sha256.Size]byte

// Cache remembers tokens that passed signature and claim checks, so that the
// same token arriving again (a reconnect storm) is answered without a second
// signature verification. It is bounded: each shard holds a fixed number of
// entries and evicts with the CLOCK algorithm (a cheap approximation of LRU).
// An entry lives until its token's exp plus Leeway, the moment Verify would
// start refusing it. Revocation is not cached: Verify asks the revocation
// check on every hit. A Cache is safe for concurrent use.
type Cache struct {
	now    func() time.Time
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu    sync.Mutex
	index map[cacheKey]int32 // key → slot
	slots []cacheSlot
	hand  int32
}

type cacheSlot struct {
	key    cacheKey
	claims *Claims
	until  int64 // unix seconds after which the entry is dead
	used   bool  // CLOCK reference bit
	live   bool
}

// NewCache returns a cache holding about size tokens (DefaultCacheSize when
// size ≤ 0), reading time from now (time.Now when nil).
func NewCache(size int, now func() time.Time) *Cache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	if now == nil {
		now = time.Now
	}
	per := (size + cacheShards - 1) / cacheShards
	c := &Cache{now: now}
	for i := range c.shards {
		c.shards[i].index = make(map[cacheKey]int32, per)
		c.shards[i].slots = make([]cacheSlot, per)
	}
	return c
}

func (c *Cache) shard(k *cacheKey) *cacheShard {
	return &c.shards[binary.LittleEndian.Uint32(k[:4])%cacheShards]
}

// get returns the claims cached for the token with key k, if still alive.
func (c *Cache) get(k *cacheKey) (*Claims, bool) {
	s := c.shard(k)
	now := c.now().Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[*k]
	if !ok {
		return nil, false
	}
	slot := &s.slots[i]
	if now > slot.until {
		delete(s.index, *k)
		*slot = cacheSlot{}
		return nil, false
	}
	slot.used = true
	return slot.claims, true
}

// put remembers claims for the token with key k until the unix time until.
func (c *Cache) put(k *cacheKey, claims *Claims, until int64) {
	s := c.shard(k)
	now := c.now().Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index[*k]; ok {
		s.slots[i].claims, s.slots[i].until, s.slots[i].used = claims, until, true
		return
	}
	i := s.victim(now)
	if old := &s.slots[i]; old.live {
		delete(s.index, old.key)
	}
	s.slots[i] = cacheSlot{key: *k, claims: claims, until: until, live: true}
	s.index[*k] = i
}

// victim picks the slot to fill: a free or dead one, else the first whose
// reference bit is clear, clearing bits as the hand passes (CLOCK). It ends
// within two turns of the hand.
func (s *cacheShard) victim(now int64) int32 {
	n := int32(len(s.slots))
	for range 2 * n {
		i := s.hand
		s.hand++
		if s.hand == n {
			s.hand = 0
		}
		slot := &s.slots[i]
		if !slot.live || now > slot.until || !slot.used {
			return i
		}
		slot.used = false
	}
	return s.hand
}

// Len returns the number of live and not yet swept entries.
func (c *Cache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.index)
		s.mu.Unlock()
	}
	return n
}

// keyOf hashes a compact token.
func keyOf(token string) cacheKey { return sha256.Sum256([]byte(token)) }
