package httpx

import (
	"hash/maphash"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// rateShards spreads limiter state so concurrent clients rarely contend.
const rateShards = 64

// maxBucketsPerShard bounds memory under an address-spraying attack: a full
// shard drops the buckets that have refilled (at most once a second), else
// one at random. Refusing unknown clients instead would let a spray lock
// every newcomer out; evicting costs the sprayer nothing it did not have
// (each of its addresses starts with a full bucket anyway).
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
	swept   time.Time // last sweep, so a full shard is not swept per request
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
	key := rateKey(clientIP)
	now := l.now()
	s := &l.shards[maphash.String(l.seed, key)%rateShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[key]
	if b == nil {
		if len(s.buckets) >= maxBucketsPerShard && now.Sub(s.swept) >= time.Second {
			s.swept = now
			l.sweep(s, now)
		}
		if len(s.buckets) >= maxBucketsPerShard {
			for k := range s.buckets { // map order is random
				delete(s.buckets, k)
				break
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

// rateKey is the unit a budget belongs to: the address for IPv4, its /64
// for IPv6 (one subscriber line holds a whole /64, and rotating through it
// must not buy a fresh budget per address).
func rateKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
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
