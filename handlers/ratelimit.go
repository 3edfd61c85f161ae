package handlers

import (
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// rateShards spreads limiter state so concurrent clients rarely contend.
const rateShards = 64

// maxBucketsPerShard bounds memory under an address-spraying attack: a full
// shard first drops idle buckets, then refuses unknown clients until some
// expire (fail closed).
const maxBucketsPerShard = 4096

// RateLimiter is a per-key token bucket: Burst requests at once, refilled at
// Burst per Per. It is safe for concurrent use.
type RateLimiter struct {
	burst  float64
	rate   float64 // tokens per second
	now    func() time.Time
	seed   maphash.Seed
	shards [rateShards]rateShard
}

type rateShard struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewRateLimiter allows burst requests per key per `per`.
func NewRateLimiter(burst int, per time.Duration, now func() time.Time) *RateLimiter {
	if now == nil {
		now = time.Now
	}
	l := &RateLimiter{burst: float64(burst), rate: float64(burst) / per.Seconds(), now: now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = map[string]*bucket{}
	}
	return l
}

// Allow takes one token for key. When none is left it returns false and how
// long until one is.
func (l *RateLimiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	s := &l.shards[maphash.String(l.seed, key)%rateShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[key]
	if b == nil {
		if len(s.buckets) >= maxBucketsPerShard {
			l.sweep(s, now)
			if len(s.buckets) >= maxBucketsPerShard {
				return false, time.Second
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		s.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// sweep drops buckets that have refilled completely: forgetting them changes
// nothing.
func (l *RateLimiter) sweep(s *rateShard, now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range s.buckets {
		if now.Sub(b.last) >= full {
			delete(s.buckets, k)
		}
	}
}
