package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/revocation"
)

var _ revocation.List = (*Revocations)(nil)

// revokeScript stores a revoked session id until a time (never shortening
// an earlier entry) and announces it, in one step.
//
// KEYS: the sid's key. ARGV: until (Unix ms), ttl (ms), sid, channel.
var revokeScript = goredis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
redis.call('PUBLISH', ARGV[4], ARGV[1] .. ' ' .. ARGV[3])
return 1
`)

// Revocations is the revocation.List shared by every node through Redis.
// Each revoked session id is a key whose TTL is the longest a credential
// carrying it can live, and a message on a channel. Every node mirrors the
// keys into its local list: it loads them all when it starts (so a node
// started after a logout refuses the session too) and adds each announced
// one, so Revoked never waits on Redis. Subscribers are told of a session
// id when this node learns of it: revoked here, announced by another node,
// or found by the reload after a lost pub/sub connection (announced while
// this node was not listening). That is how a logout on any node, one that
// hosts no apps included, closes the session's sockets on every node.
type Revocations struct {
	cfg   Config
	log   *slog.Logger
	rdb   goredis.UniversalClient
	own   bool // rdb is closed with the list
	keys  keys
	sub   *subscriber
	local *revocation.Memory

	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
	errs   atomic.Uint64

	mu      sync.Mutex
	pending map[string]time.Time // revocations Redis did not take yet
}

// NewRevocations connects to Redis, subscribes to the revocation channel
// and loads every revoked session id into the local mirror before it
// returns. A revocation made here while Redis is down is written (and
// announced) once Redis answers again.
func NewRevocations(ctx context.Context, cfg Config, log *slog.Logger) (*Revocations, error) {
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
	r := &Revocations{cfg: cfg, log: log, rdb: rdb, own: own, keys: keys{prefix: cfg.KeyPrefix},
		local: revocation.NewMemory(cfg.Now), pending: make(map[string]time.Time)}
	bg, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.sub = newSubscriber(rdb, []string{r.keys.revokedChannel()}, cfg.Heartbeat, log, r.message, r.up, r.fail)
	r.wg.Add(2)
	go func() { defer r.wg.Done(); r.sub.run(bg) }()
	go func() { defer r.wg.Done(); r.retry(bg) }()
	if err := r.sub.waitUp(ctx); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("redis: revocations: %w", err)
	}
	return r, nil
}

// Revoked reports whether sid is revoked, from the local mirror.
func (r *Revocations) Revoked(sid string) bool { return r.local.Revoked(sid) }

// Subscribe implements revocation.Watcher.
func (r *Revocations) Subscribe(fn func(sid string)) (stop func()) { return r.local.Subscribe(fn) }

// Revoke revokes sid until the given time here at once (this node's
// subscribers are told before it returns), and on every node through Redis.
// When Redis fails the revocation is kept and written again until Redis
// takes it; that is not an error. It fails only once the list is closed.
func (r *Revocations) Revoke(ctx context.Context, sid string, until time.Time) error {
	if sid == "" {
		return nil
	}
	_ = r.local.Revoke(ctx, sid, until)
	if r.closed.Load() {
		return ErrClosed
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := r.store(ctx, sid, until); err != nil {
		r.fail(ctx, "store a revocation; will retry", err)
		r.mu.Lock()
		if old, ok := r.pending[sid]; !ok || until.After(old) {
			r.pending[sid] = until
		}
		r.mu.Unlock()
	}
	return nil
}

func (r *Revocations) store(ctx context.Context, sid string, until time.Time) error {
	if r.closed.Load() {
		return ErrClosed
	}
	ttl := until.Sub(r.cfg.Now())
	if ttl <= 0 {
		return nil
	}
	return revokeScript.Run(ctx, r.rdb, []string{r.keys.revoked(sid)},
		until.UnixMilli(), ttl.Milliseconds()+1, sid, r.keys.revokedChannel()).Err()
}

// Errors returns how many background operations and revocation writes
// failed.
func (r *Revocations) Errors() uint64 { return r.errs.Load() }

// Ping reports whether Redis answers and the revocation channel is
// subscribed.
func (r *Revocations) Ping(ctx context.Context) error {
	if r.closed.Load() {
		return ErrClosed
	}
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	if !r.sub.isUp() {
		return ErrNotSubscribed
	}
	return nil
}

// Close stops mirroring and closes the connections.
func (r *Revocations) Close() error {
	if !r.closed.CompareAndSwap(false, true) {
		return nil
	}
	r.cancel()
	r.wg.Wait()
	if !r.own {
		return nil
	}
	return r.rdb.Close()
}

func (r *Revocations) fail(ctx context.Context, msg string, err error) {
	r.errs.Add(1)
	r.log.WarnContext(ctx, "redis revocations: "+msg, "err", err)
}

// message is an announced revocation: "<until Unix ms> <sid>".
func (r *Revocations) message(_, payload string) {
	ms, sid, ok := strings.Cut(payload, " ")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || sid == "" {
		r.fail(context.Background(), "undecodable revocation", fmt.Errorf("payload %q", payload))
		return
	}
	_ = r.local.Revoke(context.Background(), sid, time.UnixMilli(n))
}

// up loads every stored revocation once the channel is subscribed, so
// nothing announced in between is lost (the ones this node had not heard
// of reach its subscribers), and writes the pending ones.
func (r *Revocations) up(ctx context.Context, _ bool) {
	err := r.load(ctx, func(sid string, until time.Time) {
		_ = r.local.Revoke(ctx, sid, until)
	})
	if err != nil {
		r.fail(ctx, "load revocations", err)
	}
	r.flush(ctx)
}

func (r *Revocations) load(ctx context.Context, fn func(sid string, until time.Time)) error {
	// A Redis Cluster keeps the revocations on every primary: scan each.
	if cc, ok := r.rdb.(*goredis.ClusterClient); ok {
		var mu sync.Mutex
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			return r.loadFrom(ctx, c, func(sid string, until time.Time) {
				mu.Lock()
				defer mu.Unlock()
				fn(sid, until)
			})
		})
	}
	return r.loadFrom(ctx, r.rdb, fn)
}

// loadFrom reads the revocations one server holds, a batch of keys at a
// time (read one by one in a pipeline: a Cluster refuses a multi-key read
// across slots).
func (r *Revocations) loadFrom(ctx context.Context, c goredis.Cmdable, fn func(sid string, until time.Time)) error {
	prefix := r.keys.revoked("")
	iter := c.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
	batch := make([]string, 0, 1000)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		gets := make([]*goredis.StringCmd, len(batch))
		_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, k := range batch {
				gets[i] = p.Get(ctx, k)
			}
			return nil
		})
		if err != nil && !errors.Is(err, goredis.Nil) {
			return err
		}
		for i, g := range gets {
			s, err := g.Result()
			if err != nil {
				continue // expired since the scan
			}
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				fn(strings.TrimPrefix(batch[i], prefix), time.UnixMilli(n))
			}
		}
		batch = batch[:0]
		return nil
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	return flush()
}

// retry writes the pending revocations once a heartbeat. Writing one
// announces it, so the other nodes close the session's sockets then.
func (r *Revocations) retry(ctx context.Context) {
	t := time.NewTicker(r.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.flush(ctx)
		}
	}
}

func (r *Revocations) flush(ctx context.Context) {
	r.mu.Lock()
	todo := r.pending
	r.pending = make(map[string]time.Time)
	r.mu.Unlock()
	for sid, until := range todo {
		if err := r.store(ctx, sid, until); err != nil {
			r.mu.Lock()
			if old, ok := r.pending[sid]; !ok || until.After(old) {
				r.pending[sid] = until
			}
			r.mu.Unlock()
		}
	}
}

// globEscape quotes the characters SCAN MATCH treats as a pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
