package httpx

import (
	"hash/maphash"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// rateShards spreads limiter state so concurrent clients rarely contend.
const rateShards = 64

// maxBucketsPerShard bounds memory under an address-spraying attack: a full
// shard first drops idle buckets, then refuses unknown clients until some
// expire (fail closed).
const maxBucketsPerShard = 4096

// RateLimiter is a token bucket per client IP: burst requests at once,
// refilled at burst per `per`. One limiter may serve several fronts (they
// then share each address's budget). It is safe for concurrent use.
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

// NewRateLimiter allows burst requests per client IP per `per`; now is the
// clock (nil: time.Now).
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

// Allow takes one token for clientIP (the address as the router resolved
// it). When none is left it returns false and how long until one is.
func (l *RateLimiter) Allow(clientIP string) (bool, time.Duration) {
	key := clientIP
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

// Admit takes one token for clientIP and reports whether the request may
// go on. When it may not, it has answered 429 rate_limited with Retry-After
// (whole seconds, rounded up) and desc.
func (l *RateLimiter) Admit(w http.ResponseWriter, clientIP, desc string) bool {
	ok, wait := l.Allow(clientIP)
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		WriteError(w, http.StatusTooManyRequests, CodeRateLimited, desc)
	}
	return ok
}
