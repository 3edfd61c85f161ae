package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/policy"
)

// rabbitUser is a RabbitMQ user record as stored: the intersection of
// what the live user checks of a name verified, the sessions they were
// made with, and the earliest end.
type rabbitUser struct {
	Subscribe []string `json:"s,omitempty"`
	Publish   []string `json:"p,omitempty"`
	SIDs      []string `json:"sids,omitempty"`
	Until     int64    `json:"until"` // Unix ms
}

// sessionAddScript adds a name to a session's index and keeps the index
// as long as the longest record in it.
//
// KEYS: the session's index. ARGV: name, until (Unix ms).
var sessionAddScript = goredis.NewScript(`
redis.call('SADD', KEYS[1], ARGV[1])
local at = redis.call('PEXPIRETIME', KEYS[1])
if at < 0 or at < tonumber(ARGV[2]) then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return 1
`)

// maxRabbitSessions bounds the session ids one record remembers, as
// fronts/rabbitmq.MaxSessionsPerUser does for the in-memory table (this
// package does not import the fronts).
const maxRabbitSessions = 64

// addRabbitSession returns sids with sid added once, the oldest dropped
// past maxRabbitSessions; "" is no session.
func addRabbitSession(sids []string, sid string) []string {
	if sid == "" || slices.Contains(sids, sid) {
		return sids
	}
	return append(sids[max(0, len(sids)-maxRabbitSessions+1):], sid)
}

// RabbitUsers keeps what RabbitMQ user checks verified in Redis, so that
// RabbitMQ's later checks of a connection (vhost, resource, topic: no
// password) may reach any node. A user name is a key holding its record
// until the record's end; a session's names are a set, so that a logout
// finds them on any node. It satisfies fronts/rabbitmq.Users.
type RabbitUsers struct {
	cfg    Config
	rdb    goredis.UniversalClient
	own    bool
	keys   keys
	closed atomic.Bool
}

// NewRabbitUsers connects to Redis (cfg.URL or the shared cfg.Client;
// cfg.KeyPrefix and cfg.Now apply) and checks that it answers.
func NewRabbitUsers(ctx context.Context, cfg Config) (*RabbitUsers, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rdb, own, err := clientAnswering(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &RabbitUsers{cfg: cfg, rdb: rdb, own: own, keys: keys{prefix: cfg.KeyPrefix}}, nil
}

// The keys: one per user name, one per session.
func (k keys) rabbitUser(name string) string   { return k.prefix + "rmq-user:{" + name + "}" }
func (k keys) rabbitSession(sid string) string { return k.prefix + "rmq-session:{" + sid + "}" }

// maxTxRetries bounds the optimistic transactions of RabbitUsers when
// other nodes keep changing the same key.
const maxTxRetries = 16

// Put implements fronts/rabbitmq.Users: the record is read, narrowed and
// written back in one optimistic transaction (WATCH), so two nodes
// verifying the same name at once both count.
func (u *RabbitUsers) Put(ctx context.Context, name string, grants policy.Grants, sid string, until time.Time) error {
	if u.closed.Load() {
		return ErrClosed
	}
	now := u.cfg.Now()
	if !until.After(now) {
		return nil
	}
	key := u.keys.rabbitUser(name)
	var end time.Time
	tx := func(tx *goredis.Tx) error {
		rec := rabbitUser{Subscribe: grants.Subscribe, Publish: grants.Publish, SIDs: addRabbitSession(nil, sid), Until: until.UnixMilli()}
		if old, ok, err := u.read(ctx, tx, key); err != nil {
			return err
		} else if ok && old.Until > now.UnixMilli() {
			kept := policy.Grants{Subscribe: old.Subscribe, Publish: old.Publish}.Narrow(grants)
			rec.Subscribe, rec.Publish = kept.Subscribe, kept.Publish
			rec.SIDs = addRabbitSession(old.SIDs, sid)
			rec.Until = min(rec.Until, old.Until)
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		end = time.UnixMilli(rec.Until)
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Set(ctx, key, b, 0)
			p.PExpireAt(ctx, key, end)
			return nil
		})
		return err
	}
	if err := u.transact(ctx, tx, key); err != nil {
		return err
	}
	if sid == "" {
		return nil
	}
	return sessionAddScript.Run(ctx, u.rdb, []string{u.keys.rabbitSession(sid)}, name, end.UnixMilli()).Err()
}

// Get implements fronts/rabbitmq.Users.
func (u *RabbitUsers) Get(ctx context.Context, name string) (policy.Grants, bool, error) {
	if u.closed.Load() {
		return policy.Grants{}, false, ErrClosed
	}
	rec, ok, err := u.read(ctx, u.rdb, u.keys.rabbitUser(name))
	if err != nil || !ok || rec.Until <= u.cfg.Now().UnixMilli() {
		return policy.Grants{}, false, err
	}
	return policy.Grants{Subscribe: rec.Subscribe, Publish: rec.Publish}, true, nil
}

// DropSession implements fronts/rabbitmq.Users: each name's record is
// deleted in an optimistic transaction that checks it still holds the
// session, so of two nodes dropping the same session only one gets the
// name.
func (u *RabbitUsers) DropSession(ctx context.Context, sid string) ([]string, error) {
	if u.closed.Load() {
		return nil, ErrClosed
	}
	skey := u.keys.rabbitSession(sid)
	names, err := u.rdb.SMembers(ctx, skey).Result()
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, name := range names {
		key := u.keys.rabbitUser(name)
		mine := false
		err := u.transact(ctx, func(tx *goredis.Tx) error {
			mine = false
			rec, ok, err := u.read(ctx, tx, key)
			if err != nil || !ok || !slices.Contains(rec.SIDs, sid) {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				p.Del(ctx, key)
				return nil
			})
			mine = err == nil
			return err
		}, key)
		if err != nil {
			return dropped, err
		}
		if mine {
			dropped = append(dropped, name)
		}
	}
	return dropped, u.rdb.Del(ctx, skey).Err()
}

// read returns the record at key; ok is false when there is none.
func (u *RabbitUsers) read(ctx context.Context, c goredis.Cmdable, key string) (rabbitUser, bool, error) {
	b, err := c.Get(ctx, key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return rabbitUser{}, false, nil
	}
	if err != nil {
		return rabbitUser{}, false, err
	}
	var rec rabbitUser
	if err := json.Unmarshal(b, &rec); err != nil {
		return rabbitUser{}, false, fmt.Errorf("redis: rabbitmq user record: %w", err)
	}
	return rec, true, nil
}

// transact runs fn watching key, again while another client changed the
// key in between.
func (u *RabbitUsers) transact(ctx context.Context, fn func(*goredis.Tx) error, key string) error {
	for range maxTxRetries {
		err := u.rdb.Watch(ctx, fn, key)
		if !errors.Is(err, goredis.TxFailedErr) {
			return err
		}
	}
	return fmt.Errorf("redis: %s kept changing: %w", key, goredis.TxFailedErr)
}

// Ping reports whether Redis answers.
func (u *RabbitUsers) Ping(ctx context.Context) error {
	if u.closed.Load() {
		return ErrClosed
	}
	if err := u.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Close closes the connections when they are the store's own; calls after
// Close fail with ErrClosed.
func (u *RabbitUsers) Close() error {
	if !u.closed.CompareAndSwap(false, true) || !u.own {
		return nil
	}
	return u.rdb.Close()
}
