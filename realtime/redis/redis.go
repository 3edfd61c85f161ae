package redis

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/realtime"
)

var (
	_ realtime.Backplane       = (*Backplane)(nil)
	_ realtime.BatchSubscriber = (*Backplane)(nil)
)

// Errors of the package.
var (
	// ErrClosed is returned by a closed Backplane or Revocations.
	ErrClosed = errors.New("redis: closed")
	// ErrNotSubscribed is returned while the node does not read its event
	// streams (or, for Revocations, its pub/sub channel).
	ErrNotSubscribed = errors.New("redis: not reading events (connection down)")
)

// Defaults of Config.
const (
	DefaultKeyPrefix = "gatehouse:"
	DefaultHeartbeat = 2 * time.Second
	// deadAfter heartbeats missed, a node's share is swept.
	deadAfter = 3
)

// Config configures a Backplane and Revocations.
type Config struct {
	// URL is a redis:// or rediss:// URL (database, user and password in it).
	URL string
	// Node names this node; a random id when empty. The Backplane beats for
	// it from the start, and for every other node name written through it.
	Node string
	// KeyPrefix starts every key and pub/sub channel [gatehouse:]. Clusters
	// sharing one Redis server need different prefixes.
	KeyPrefix string
	// Heartbeat is how often a node says it lives [2s]; a node silent for
	// three heartbeats is dead and its share is swept by the others.
	Heartbeat time.Duration
	// Now is the clock for revocation lifetimes [time.Now].
	Now func() time.Time
	// Shards is how many streams carry channel envelopes [16].
	Shards int
	// StreamLength is about how many envelopes each stream keeps [10000]:
	// a node resumes a lost connection without loss within that window.
	StreamLength int64
	// WaitReplicas, when positive, accepts a publish only once that many
	// replicas hold it (WAIT), so a Sentinel failover cannot lose it.
	WaitReplicas int
	// WaitTimeout bounds that wait [1s].
	WaitTimeout time.Duration
	// Sentinel, when set, replaces URL: the primary is found through Redis
	// Sentinel and followed through failovers.
	Sentinel *Sentinel
	// Cluster, when set, replaces URL: the keys are spread over the
	// primaries of a Redis Cluster, every script touching one slot.
	Cluster *Cluster
	// Client, when set, is the connection pool to use (shared by every
	// Redis part of a process; see Dial); the part does not close it.
	Client goredis.UniversalClient

	hooks *hooks // tests learn of background work through these
}

// hooks are called, when set, after background work.
type hooks struct {
	replayed func(node string) // a node's share was written again
	swept    func(node string) // a dead node's share was removed
	// beforeRead runs before each read of the event streams (a test can
	// hold the reader back there).
	beforeRead func()
}

func (c Config) withDefaults() (Config, error) {
	if c.Sentinel == nil && c.Cluster == nil && c.Client == nil {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return c, errors.New("redis: url must be a redis:// or rediss:// URL")
		}
	}
	if c.Node == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		c.Node = hex.EncodeToString(b[:])
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = DefaultKeyPrefix
	}
	if strings.ContainsAny(c.KeyPrefix, "{}") {
		// A brace in the prefix would move the hash tags that keep each
		// script's keys in one Cluster slot.
		return c, errors.New("redis: key prefix must not hold { or }")
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Shards <= 0 {
		c.Shards = DefaultShards
	}
	if c.StreamLength <= 0 {
		c.StreamLength = DefaultStreamLength
	}
	if c.WaitTimeout <= 0 {
		c.WaitTimeout = time.Second
	}
	return c, nil
}

// newClient opens a go-redis client for cfg: cfg.URL, the primary that
// cfg.Sentinel's sentinels name (followed through failovers), or the
// primaries of cfg.Cluster. Commands are never retried by the client: a
// script or XADD whose reply was lost may have run, and running it twice
// would count a subscription twice or deliver twice. (A Cluster client
// still follows MOVED and ASK redirections: those commands did not run.)
func newClient(cfg Config) (goredis.UniversalClient, error) {
	if c := cfg.Cluster; c != nil {
		opt := &goredis.ClusterOptions{Addrs: c.Addrs, Username: c.Username, Password: c.Password, MaxRetries: -1}
		if c.TLS {
			opt.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		return goredis.NewClusterClient(opt), nil
	}
	if s := cfg.Sentinel; s != nil {
		opt := &goredis.FailoverOptions{
			MasterName: s.MasterName, SentinelAddrs: s.Addrs,
			SentinelUsername: s.SentinelUsername, SentinelPassword: s.SentinelPassword,
			Username: s.Username, Password: s.Password, DB: s.DB, MaxRetries: -1,
		}
		if s.TLS {
			opt.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		return goredis.NewFailoverClient(opt), nil
	}
	opt, err := goredis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis: url: %w", err)
	}
	opt.MaxRetries = -1
	return goredis.NewClient(opt), nil
}

// clientFor returns cfg.Client when set (own false: the caller does not
// close it), else a new client.
func clientFor(cfg Config) (_ goredis.UniversalClient, own bool, _ error) {
	if cfg.Client != nil {
		return cfg.Client, false, nil
	}
	c, err := newClient(cfg)
	return c, true, err
}

// Dial opens the one connection pool every Redis part of a process shares
// (pass it as Config.Client) and checks that Redis answers.
func Dial(ctx context.Context, cfg Config) (goredis.UniversalClient, error) {
	if cfg.Sentinel == nil && cfg.Cluster == nil {
		if _, err := cfg.withDefaults(); err != nil {
			return nil, err
		}
	}
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis: ping: %w", err)
	}
	return c, nil
}

// Sentinel names a primary watched by Redis Sentinel.
type Sentinel struct {
	// MasterName is the primary's name in the sentinels' configuration.
	MasterName string
	// Addrs are sentinel host:port addresses.
	Addrs []string
	// Username and Password authenticate with the primary; Sentinel*
	// with the sentinels.
	Username, Password                 string
	SentinelUsername, SentinelPassword string
	// DB is the database number.
	DB int
	// TLS connects with TLS.
	TLS bool
}

// Cluster names the nodes of a Redis Cluster (any of them: the client
// learns the others from them).
type Cluster struct {
	// Addrs are host:port addresses of cluster nodes.
	Addrs []string
	// Username and Password authenticate with every node.
	Username, Password string
	// TLS connects with TLS.
	TLS bool
}

// Backplane is a realtime.Backplane over Redis. Create it with New.
type Backplane struct {
	cfg  Config
	log  *slog.Logger
	rdb  goredis.UniversalClient
	own  bool // rdb was opened here and is closed with the backplane
	keys keys
	st   streams
	up   upFlag

	// cluster is rdb as a Redis Cluster client, nil on one server.
	cluster *goredis.ClusterClient

	resyncs atomic.Uint64

	bg     context.Context // lives until Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
	errs   atomic.Uint64

	hmu      sync.RWMutex // held for reading while handlers run
	dmu      sync.Mutex   // one envelope handed on at a time
	handlers map[uint64]func([]realtime.Envelope)
	nextID   uint64

	// share is what the nodes of this process wrote, replayed into Redis
	// when Redis lost it (a restart) or swept it (a node paused too long).
	// Writes take shareRW for reading, a replay takes it for writing.
	shareRW sync.RWMutex
	shareMu sync.Mutex
	nodes   map[string]*share
}

// New connects to Redis, subscribes to the envelope channel (it returns
// once Redis confirmed the subscription) and starts beating for cfg.Node.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Backplane, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rdb, own, err := clientFor(cfg)
	if err != nil {
		return nil, err
	}
	b := &Backplane{
		cfg:      cfg,
		log:      log,
		rdb:      rdb,
		own:      own,
		keys:     keys{prefix: cfg.KeyPrefix},
		handlers: make(map[uint64]func([]realtime.Envelope)),
		nodes:    make(map[string]*share),
		up:       newUpFlag(),
	}
	b.cluster, _ = rdb.(*goredis.ClusterClient)
	b.st.shards = map[int]*streamState{}
	b.st.watched = map[realtime.ChannelKey]int{}
	b.st.readers = map[int]*reader{}
	b.st.main = b.newMainReader()
	closeRDB := func() {
		if own {
			_ = rdb.Close()
		}
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		closeRDB()
		return nil, fmt.Errorf("redis: ping: %w", err)
	}
	if err := b.ensureNode(ctx, cfg.Node); err != nil {
		closeRDB()
		return nil, err
	}
	if b.st.control, err = b.streamEnd(ctx, b.keys.control(), b.keys.controlSeq(), -1); err != nil {
		closeRDB()
		return nil, fmt.Errorf("redis: control stream: %w", err)
	}
	bg, cancel := context.WithCancel(context.Background())
	b.bg, b.cancel = bg, cancel
	b.wg.Add(2)
	go func() { defer b.wg.Done(); b.read(bg, b.st.main) }()
	go func() { defer b.wg.Done(); b.beat(bg) }()
	if err := b.up.wait(ctx); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("redis: subscribe: %w", err)
	}
	return b, nil
}

// Node returns the node this backplane beats for.
func (b *Backplane) Node() string { return b.cfg.Node }

// Errors returns how many background operations failed: lost pub/sub
// connections, heartbeats, sweeps, replays and undecodable envelopes.
// Failed calls are returned to their callers and not counted here.
func (b *Backplane) Errors() uint64 { return b.errs.Load() }

func (b *Backplane) fail(ctx context.Context, msg string, err error) {
	b.errs.Add(1)
	b.log.WarnContext(ctx, "redis backplane: "+msg, "err", err)
}

// Ping reports whether Redis answers and the subscription is up.
func (b *Backplane) Ping(ctx context.Context) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if err := b.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	for _, r := range b.readers() {
		if !r.up.isUp() {
			return ErrNotSubscribed
		}
	}
	return nil
}

// Close takes this process's share out of Redis (announcing the presence
// members that leave with it), stops the subscription and the heartbeat and
// closes the connections. Calls after Close fail with ErrClosed. A process
// that dies without Close leaves its share until the other nodes see its
// heartbeat expire.
func (b *Backplane) Close() error {
	return b.close(true)
}

func (b *Backplane) close(leave bool) error {
	if !b.closed.CompareAndSwap(false, true) {
		return nil
	}
	if b.cancel != nil {
		b.cancel()
	}
	b.wg.Wait()
	b.hmu.Lock()
	b.handlers = map[uint64]func([]realtime.Envelope){}
	b.hmu.Unlock()
	if leave {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, node := range b.localNodes() {
			if err := b.leave(ctx, node); err != nil {
				b.fail(ctx, "remove the node's share at close", err)
			}
		}
	}
	if b.own {
		return b.rdb.Close()
	}
	return nil
}

// keys names every key and channel under one prefix. App ids cannot hold
// ':' and channel names cannot either, so the names are unambiguous.
//
// The part in braces is the hash tag Redis Cluster places a key by: every
// key a script touches carries the same tag, so each script runs in one
// slot. A channel's keys (occupancy, presence, cached event, history) are
// tagged with app and channel, a stream and its counter with the shard, a
// node's heartbeat and indexes with the node; the app's list of occupied
// channels and the set of nodes stand alone. On one Redis server the tags
// mean nothing.
type keys struct{ prefix string }

func (k keys) stream(shard int) string    { return k.prefix + "ev:{" + strconv.Itoa(shard) + "}" }
func (k keys) control() string            { return k.prefix + "ev:{ctl}" }
func (k keys) streamSeq(shard int) string { return k.prefix + "ev-seq:{" + strconv.Itoa(shard) + "}" }
func (k keys) controlSeq() string         { return k.prefix + "ev-seq:{ctl}" }
func (k keys) revokedChannel() string     { return k.prefix + "revoked" }
func (k keys) revoked(sid string) string  { return k.prefix + "revoked:" + sid }
func (k keys) nodes() string              { return k.prefix + "nodes" }

func (k keys) node(kind, node string) string { return k.prefix + kind + ":{" + node + "}" }
func (k keys) heartbeat(node string) string  { return k.node("hb", node) }
func (k keys) sweeping(node string) string   { return k.node("sweeping", node) }

// nodeOcc indexes the channels node counts subscriptions of (app NUL
// channel -> 1); the counts live in the channel's occupancy hash.
func (k keys) nodeOcc(node string) string { return k.node("node-occ", node) }

// nodePresence indexes node's presence connections (app NUL channel NUL
// conn NUL user -> 1).
func (k keys) nodePresence(node string) string { return k.node("node-presence", node) }

// channel names a key of one channel, tagged with app and channel.
func (k keys) channel(kind string, key realtime.ChannelKey) string {
	return k.prefix + kind + ":{" + key.App + ":" + key.Channel + "}"
}

// occupancy is a channel's subscription counts per node (node -> n).
func (k keys) occupancy(key realtime.ChannelKey) string { return k.channel("occ", key) }

// appChannels lists the channels of app that may be occupied: every
// occupied one is there, a vacated one until it is found empty.
func (k keys) appChannels(app string) string { return k.prefix + "chans:" + app }

func (k keys) presence(key realtime.ChannelKey, part string) string {
	return k.channel("presence", key) + ":" + part
}
func (k keys) cache(key realtime.ChannelKey) string { return k.channel("cache", key) }
