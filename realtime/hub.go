package realtime

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"gatehouse/revocation"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of the hub.
var (
	ErrOverCapacity = errors.New("realtime: over capacity")
	ErrClosed       = errors.New("realtime: hub closed")
	ErrUnknownConn  = errors.New("realtime: connection not registered")
	ErrRevoked      = errors.New("realtime: session revoked")
)

// Default limits, as the README's "Configuration reference" gives them.
const (
	DefaultMaxConnections        = 100000
	DefaultMaxMessageBytes       = 10240
	DefaultClientEventsPerSecond = 10
	DefaultPresenceMembers       = 100
	DefaultCacheTTL              = 30 * time.Minute
	// DefaultChannelsPerConnection is far above what a pusher-js app
	// subscribes one socket to (a handful of rooms, a presence channel, a
	// user channel) and equals Ably's per-connection channel limit, while
	// keeping one socket's subscription state to about 200 KiB.
	DefaultChannelsPerConnection = 200
	// DefaultFramesPerSecond and DefaultFrameBurst bound the frames one
	// connection sends: a token bucket. The burst lets a reconnecting
	// client resubscribe to DefaultChannelsPerConnection channels at once;
	// the rate is well above pings, subscribes and the client-event and
	// publish limits.
	DefaultFramesPerSecond = 20
	DefaultFrameBurst      = 300
	// DefaultAnonymousPresencePerIP leaves room for a household or an
	// office behind one address, far below DefaultPresenceMembers.
	DefaultAnonymousPresencePerIP = 10
)

// Limits are the per-process limits of the realtime layer. Zero fields take
// the defaults.
type Limits struct {
	MaxConnections        int
	MaxMessageBytes       int
	ClientEventsPerSecond int
	PresenceMembers       int
	// ChannelsPerConnection bounds one connection's subscriptions, on
	// either protocol.
	ChannelsPerConnection int
	// FramesPerSecond and FrameBurst bound the frames one connection sends
	// (a token bucket); a connection that empties it is closed with its
	// protocol's back-off code.
	FramesPerSecond int
	FrameBurst      int
	// ConnectionsPerIP bounds the connections one client address holds on
	// this process (IPv6 by /64). Zero (the default) is no cap.
	ConnectionsPerIP int
	// AnonymousPresencePerIP bounds the anonymous members (user ids
	// "anon:…") one client address puts on one presence channel through
	// this process, so that nobody fills a channel's member limit alone.
	AnonymousPresencePerIP int
}

// Config configures a Hub.
type Config struct {
	// Node names this node on the backplane; a random id when empty.
	Node string
	// Limits apply to this process.
	Limits Limits
	// CacheTTL is how long the last event of a cache channel is kept [30m].
	CacheTTL time.Duration
	// History says which channels keep their recent events (nil: none).
	History func(app, channel string) (HistoryRule, bool)
	// Now is the clock [time.Now].
	Now func() time.Time
}

// Hub is the node-local registry of connections and subscriptions, joined to
// the other nodes through a Backplane.
type Hub struct {
	cfg     Config
	bp      Backplane
	revoked revocation.Watcher
	log     *slog.Logger
	stop    func()

	mu        sync.RWMutex
	conns     map[string]*connState
	channels  map[ChannelKey]map[string]Conn
	sids      map[string]map[string]*connState
	users     map[ChannelKey]map[string]*connState // {app, user id}
	observers []func(context.Context, Lifecycle)
	closed    bool

	published atomic.Uint64
	delivered atomic.Uint64
	resyncs   atomic.Uint64

	abuse abuseLimits
}

type connState struct {
	c    Conn
	app  string
	sid  string
	user string
	subs map[string]*Member // channel -> presence member (nil otherwise)
	// pending holds sessions that authorised this socket for a channel
	// (/pusher/auth), applied when the socket itself subscribes to it;
	// contested is set once two sessions claimed the socket, after which no
	// authorisation binds it (see BindSession).
	pending   map[string]string
	contested bool
}

// New returns a hub joined to bp that closes the sockets of each session
// revoked says is revoked (here or on another node: revoked is the one
// revocation list of the process). The hub subscribes to both at once; call
// Close to leave.
func New(ctx context.Context, cfg Config, bp Backplane, revoked revocation.Watcher, log *slog.Logger) (*Hub, error) {
	if bp == nil {
		return nil, errors.New("realtime: nil backplane")
	}
	if revoked == nil {
		return nil, errors.New("realtime: nil revocation list")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Node == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		cfg.Node = hex.EncodeToString(b[:])
	}
	h := &Hub{
		cfg:      cfg,
		bp:       bp,
		revoked:  revoked,
		log:      log,
		conns:    make(map[string]*connState),
		channels: make(map[ChannelKey]map[string]Conn),
		sids:     make(map[string]map[string]*connState),
		users:    make(map[ChannelKey]map[string]*connState),
	}
	var stopBP func()
	var err error
	if bb, ok := bp.(BatchSubscriber); ok {
		stopBP, err = bb.SubscribeBatch(ctx, h.handleBatch)
	} else {
		stopBP, err = bp.Subscribe(ctx, h.handle)
	}
	if err != nil {
		return nil, fmt.Errorf("realtime: subscribe to backplane: %w", err)
	}
	stopRevoked := revoked.Subscribe(h.revokeLocal)
	h.stop = func() { stopRevoked(); stopBP() }
	return h, nil
}

func (l Limits) withDefaults() Limits {
	if l.MaxConnections <= 0 {
		l.MaxConnections = DefaultMaxConnections
	}
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if l.ClientEventsPerSecond <= 0 {
		l.ClientEventsPerSecond = DefaultClientEventsPerSecond
	}
	if l.PresenceMembers <= 0 {
		l.PresenceMembers = DefaultPresenceMembers
	}
	if l.ChannelsPerConnection <= 0 {
		l.ChannelsPerConnection = DefaultChannelsPerConnection
	}
	if l.FramesPerSecond <= 0 {
		l.FramesPerSecond = DefaultFramesPerSecond
	}
	if l.FrameBurst <= 0 {
		l.FrameBurst = DefaultFrameBurst
	}
	if l.AnonymousPresencePerIP <= 0 {
		l.AnonymousPresencePerIP = DefaultAnonymousPresencePerIP
	}
	return l
}

// Limits returns the effective limits, defaults filled in.
func (h *Hub) Limits() Limits { return h.cfg.Limits }

// Node returns this node's id on the backplane.
func (h *Hub) Node() string { return h.cfg.Node }

// Now returns the hub's clock reading.
func (h *Hub) Now() time.Time { return h.cfg.Now() }

// Backplane returns the hub's backplane (readiness checks ping it).
func (h *Hub) Backplane() Backplane { return h.bp }

// NewConnID returns a fresh, unpredictable connection id in the Pusher
// socket_id form: two decimal numbers joined by a dot.
func (h *Hub) NewConnID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	a := binary.BigEndian.Uint32(b[:4])%1_000_000_000 + 1
	c := binary.BigEndian.Uint32(b[4:])%1_000_000_000 + 1
	return strconv.FormatUint(uint64(a), 10) + "." + strconv.FormatUint(uint64(c), 10)
}

// Register adds c, a connection to app, to the hub. It fails with
// ErrOverCapacity when the process holds Limits.MaxConnections already.
func (h *Hub) Register(c Conn, app string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if len(h.conns) >= h.cfg.Limits.MaxConnections {
		return ErrOverCapacity
	}
	if _, dup := h.conns[c.ID()]; dup {
		return fmt.Errorf("realtime: duplicate connection id %q", c.ID())
	}
	h.conns[c.ID()] = &connState{c: c, app: app, subs: make(map[string]*Member)}
	return nil
}

// Unregister removes c and all its subscriptions, telling the backplane
// (occupancy, presence) and the observers. It is safe to call more than once.
func (h *Hub) Unregister(ctx context.Context, c Conn) {
	h.mu.Lock()
	cs := h.conns[c.ID()]
	if cs == nil || cs.c != c {
		h.mu.Unlock()
		return
	}
	delete(h.conns, c.ID())
	subs := cs.subs
	cs.subs = nil
	for name := range subs {
		h.removeSubLocked(ChannelKey{cs.app, name}, c.ID())
	}
	h.unbindLocked(cs)
	h.mu.Unlock()
	for name, m := range subs {
		h.leave(ctx, ChannelKey{cs.app, name}, c.ID(), m)
	}
}

// Len returns the number of connections on this node.
func (h *Hub) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}

// Stats are counters of this node.
type Stats struct {
	Connections   int
	Subscriptions int
	Published     uint64
	Delivered     uint64
	// Resynced counts connections closed because events of one of their
	// channels may have been lost between nodes (ReasonResync).
	Resynced uint64
}

// Stats returns this node's counters.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	s := Stats{Connections: len(h.conns)}
	for _, subs := range h.channels {
		s.Subscriptions += len(subs)
	}
	h.mu.RUnlock()
	s.Published = h.published.Load()
	s.Delivered = h.delivered.Load()
	s.Resynced = h.resyncs.Load()
	return s
}

// Close leaves the backplane and disconnects every local connection with
// ReasonShutdown.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	conns := make([]Conn, 0, len(h.conns))
	for _, cs := range h.conns {
		conns = append(conns, cs.c)
	}
	h.mu.Unlock()
	h.stop()
	for _, c := range conns {
		c.Disconnect(ReasonShutdown)
	}
	return nil
}
