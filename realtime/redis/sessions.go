package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Limits of a SessionStore.
const (
	// DefaultMaxSessionValue bounds one stored session part [64 KiB].
	DefaultMaxSessionValue = 64 << 10
	// maxIndexedSessions bounds the sessions one index key holds; past it
	// the ones that end soonest leave the index.
	maxIndexedSessions = 1000
)

// ErrValueTooLarge is returned by Put for data over the store's bound.
var ErrValueTooLarge = errors.New("redis: session value too large")

// indexAddScript records a session under an index key until its end, drops
// the ended ones and those over the bound, and keeps the key as long as
// its last session.
//
// KEYS: the index key. ARGV: sid, until (Unix ms), now (Unix ms), bound.
var indexAddScript = goredis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if over > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, over - 1)
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
`)

// indexTakeScript returns the sessions under an index key that have not
// ended, with their ends, and deletes the key, in one step.
//
// KEYS: the index key. ARGV: now (Unix ms).
var indexTakeScript = goredis.NewScript(`
local r = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'WITHSCORES')
redis.call('DEL', KEYS[1])
return r
`)

// SessionStore keeps in Redis what every node must know of login sessions:
// the part of a session too large for its cookie (it satisfies
// oidc.SpillStore), and which of our sessions belong to a provider's
// session id or subject (oidc.SessionIndex), so a back-channel logout that
// reaches any node finds the sessions made on every node. Each value is a
// key that lives as long as the session it serves.
type SessionStore struct {
	cfg    Config
	rdb    goredis.UniversalClient
	own    bool // rdb is closed with the store
	keys   keys
	max    int
	closed atomic.Bool
}

// NewSessionStore connects to Redis (cfg.URL, cfg.KeyPrefix and cfg.Now
// apply) and checks that it answers. maxValue bounds one stored session
// part (<= 0: DefaultMaxSessionValue).
func NewSessionStore(ctx context.Context, cfg Config, maxValue int) (*SessionStore, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if maxValue <= 0 {
		maxValue = DefaultMaxSessionValue
	}
	rdb, own, err := clientAnswering(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &SessionStore{cfg: cfg, rdb: rdb, own: own, keys: keys{prefix: cfg.KeyPrefix}, max: maxValue}, nil
}

func (k keys) spill(sid string) string        { return k.prefix + "session:" + sid }
func (k keys) sessionIndex(key string) string { return k.prefix + "session-index:" + key }

func (s *SessionStore) check() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Put stores data for sid until the given time (oidc.SpillStore). Data over
// the store's bound is refused with ErrValueTooLarge; a time already past
// stores nothing.
func (s *SessionStore) Put(ctx context.Context, sid string, data []byte, until time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	if len(data) > s.max {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrValueTooLarge, len(data), s.max)
	}
	ttl := until.Sub(s.cfg.Now())
	if ttl <= 0 {
		return s.Delete(ctx, sid)
	}
	if err := s.rdb.Set(ctx, s.keys.spill(sid), data, ttl.Round(time.Millisecond)+time.Millisecond).Err(); err != nil {
		return fmt.Errorf("redis: session put: %w", err)
	}
	return nil
}

// Get returns the data of sid (oidc.SpillStore); ok is false when there is
// none.
func (s *SessionStore) Get(ctx context.Context, sid string) ([]byte, bool, error) {
	if err := s.check(); err != nil {
		return nil, false, err
	}
	data, err := s.rdb.Get(ctx, s.keys.spill(sid)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis: session get: %w", err)
	}
	return data, true, nil
}

// Delete forgets sid (oidc.SpillStore).
func (s *SessionStore) Delete(ctx context.Context, sid string) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.rdb.Del(ctx, s.keys.spill(sid)).Err(); err != nil {
		return fmt.Errorf("redis: session delete: %w", err)
	}
	return nil
}

// Add records our session sid under key until the given time
// (oidc.SessionIndex). The key lives as long as its last session; one key
// holds at most 1000 sessions, past that the ones ending soonest leave it.
func (s *SessionStore) Add(ctx context.Context, key, sid string, until time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	now := s.cfg.Now()
	if !until.After(now) {
		return nil
	}
	err := indexAddScript.Run(ctx, s.rdb, []string{s.keys.sessionIndex(key)},
		sid, until.UnixMilli(), now.UnixMilli(), maxIndexedSessions).Err()
	if err != nil {
		return fmt.Errorf("redis: session index add: %w", err)
	}
	return nil
}

// Take returns the sessions under key that have not ended, with their
// ends, and forgets the key (oidc.SessionIndex). Two nodes taking the same
// key at once split nothing: one gets every session, the other none.
func (s *SessionStore) Take(ctx context.Context, key string) (map[string]time.Time, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	res, err := indexTakeScript.Run(ctx, s.rdb, []string{s.keys.sessionIndex(key)}, s.cfg.Now().UnixMilli()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis: session index take: %w", err)
	}
	out := make(map[string]time.Time, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		ms, err := strconv.ParseFloat(res[i+1], 64)
		if err != nil {
			return nil, fmt.Errorf("redis: session index take: score %q: %w", res[i+1], err)
		}
		out[res[i]] = time.UnixMilli(int64(ms))
	}
	return out, nil
}

// Ping reports whether Redis answers.
func (s *SessionStore) Ping(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Close closes the connections; calls after Close fail with ErrClosed.
func (s *SessionStore) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	if !s.own {
		return nil
	}
	return s.rdb.Close()
}

// clientAnswering returns cfg's client (see clientFor) once Redis answered
// a PING; own says whether the caller closes it.
func clientAnswering(ctx context.Context, cfg Config) (_ goredis.UniversalClient, own bool, _ error) {
	rdb, own, err := clientFor(cfg)
	if err != nil {
		return nil, false, err
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		if own {
			_ = rdb.Close()
		}
		return nil, false, fmt.Errorf("redis: ping: %w", err)
	}
	return rdb, own, nil
}
