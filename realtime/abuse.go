package realtime

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of the per-connection and per-address limits.
var (
	// ErrTooManyChannels refuses a subscription past
	// Limits.ChannelsPerConnection.
	ErrTooManyChannels = errors.New("realtime: too many channels on this connection")
	// ErrTooManyFromIP refuses a connection past Limits.ConnectionsPerIP,
	// or an anonymous presence member past Limits.AnonymousPresencePerIP.
	ErrTooManyFromIP = errors.New("realtime: too many connections from this address")
)

// Refusal names what a limit refused, for the refusal counters.
type Refusal int

// Refusals.
const (
	// RefusedChannelCap is a subscribe past Limits.ChannelsPerConnection.
	RefusedChannelCap Refusal = iota
	// RefusedFrameFlood is a connection closed for emptying its frame
	// bucket.
	RefusedFrameFlood
	// RefusedIPCap is a connection refused past Limits.ConnectionsPerIP.
	RefusedIPCap
	// RefusedAnonymousPresence is an anonymous presence member refused past
	// Limits.AnonymousPresencePerIP.
	RefusedAnonymousPresence
	numRefusals
)

// String names the refusal as the metrics label it.
func (r Refusal) String() string {
	switch r {
	case RefusedChannelCap:
		return "channel_cap"
	case RefusedFrameFlood:
		return "frame_flood"
	case RefusedIPCap:
		return "ip_cap"
	case RefusedAnonymousPresence:
		return "anonymous_presence"
	}
	return "unknown"
}

// abuseLimits is the hub's share of the abuse limits: counters of what was
// refused, and the connections each client address holds.
type abuseLimits struct {
	refused [numRefusals]atomic.Uint64

	mu       sync.Mutex
	perIP    map[netip.Prefix]int
	presence map[presenceKey]int
}

// presenceKey counts one address's anonymous members of one channel.
type presenceKey struct {
	ch   ChannelKey
	addr netip.Prefix
}

// Refused counts one refusal of kind r (the protocols call it when they
// close a flooding connection).
func (h *Hub) Refused(r Refusal) {
	if r >= 0 && r < numRefusals {
		h.abuse.refused[r].Add(1)
	}
}

// RefusedCount returns how many refusals of kind r this node made.
func (h *Hub) RefusedCount(r Refusal) uint64 {
	if r < 0 || r >= numRefusals {
		return 0
	}
	return h.abuse.refused[r].Load()
}

// addrKey is the unit one address cap counts: the address for IPv4, its /64
// for IPv6 (one subscriber line typically holds a whole /64). An unparsable
// address counts as itself, under the zero prefix's neighbour.
func addrKey(ip string) netip.Prefix {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// AdmitAddress reserves one connection for client address ip under
// Limits.ConnectionsPerIP. It returns a release function to call exactly
// once when the connection ends, or ErrTooManyFromIP (counted) when the
// address holds the cap already. With no cap it always admits.
func (h *Hub) AdmitAddress(ip string) (release func(), err error) {
	max := h.cfg.Limits.ConnectionsPerIP
	if max <= 0 {
		return func() {}, nil
	}
	key := addrKey(ip)
	a := &h.abuse
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.perIP[key] >= max {
		h.Refused(RefusedIPCap)
		return nil, ErrTooManyFromIP
	}
	if a.perIP == nil {
		a.perIP = make(map[netip.Prefix]int)
	}
	a.perIP[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.perIP[key] <= 1 {
				delete(a.perIP, key)
			} else {
				a.perIP[key]--
			}
		})
	}, nil
}

// FrameBucket bounds the frames one connection sends: a token bucket of
// Limits.FrameBurst tokens refilled at Limits.FramesPerSecond. It is owned
// by the connection's reading goroutine (not safe for concurrent use).
type FrameBucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

// NewFrameBucket returns a full bucket with the hub's limits.
func (h *Hub) NewFrameBucket() FrameBucket {
	l := h.cfg.Limits
	return FrameBucket{rate: float64(l.FramesPerSecond), burst: float64(l.FrameBurst), tokens: float64(l.FrameBurst)}
}

// Allow takes one token at now and reports whether there was one. A
// connection that gets false is flooding: close it.
func (b *FrameBucket) Allow(now time.Time) bool {
	if !b.last.IsZero() {
		if d := now.Sub(b.last).Seconds(); d > 0 {
			b.tokens = min(b.burst, b.tokens+d*b.rate)
		}
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// AdmitAnonymousPresence reserves a place for one more anonymous member of
// presence channel key from client address ip, under
// Limits.AnonymousPresencePerIP. It returns a release function to call
// exactly once when that member leaves, or ErrTooManyFromIP (counted).
func (h *Hub) AdmitAnonymousPresence(key ChannelKey, ip string) (release func(), err error) {
	k := presenceKey{ch: key, addr: addrKey(ip)}
	a := &h.abuse
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.presence[k] >= h.cfg.Limits.AnonymousPresencePerIP {
		h.Refused(RefusedAnonymousPresence)
		return nil, ErrTooManyFromIP
	}
	if a.presence == nil {
		a.presence = make(map[presenceKey]int)
	}
	a.presence[k]++
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.presence[k] <= 1 {
				delete(a.presence, k)
			} else {
				a.presence[k]--
			}
		})
	}, nil
}
