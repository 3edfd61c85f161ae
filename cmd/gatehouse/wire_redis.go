package main

import (
	"context"
	"fmt"

	"gatehouse/config"
	"gatehouse/handlers"
	"gatehouse/oidc"
	"gatehouse/realtime"
	"gatehouse/realtime/redis"
	"gatehouse/revocation"
)

var (
	_ oidc.SpillStore   = (*redis.SessionStore)(nil)
	_ oidc.SessionIndex = (*redis.SessionStore)(nil)
)

// usesRedis reports whether realtime.backplane is redis: then every part
// that must agree across nodes keeps its state in that Redis.
func usesRedis(cfg *config.Config) bool { return cfg.Realtime.Backplane == "redis" }

// redisConfig is the connection every Redis part of this process uses.
func redisConfig(cfg config.Redis) redis.Config {
	rc := redis.Config{URL: cfg.URL, Shards: cfg.Shards, StreamLength: cfg.StreamLength,
		WaitReplicas: cfg.WaitReplicas, WaitTimeout: cfg.WaitTimeout}
	if s := cfg.Sentinel; s != nil {
		rc.Sentinel = &redis.Sentinel{MasterName: s.Primary(), Addrs: s.Addrs, Username: s.Username, Password: s.Password,
			SentinelUsername: s.SentinelUsername, SentinelPassword: s.SentinelPassword, DB: s.DB, TLS: s.TLS}
	}
	if c := cfg.Cluster; c != nil {
		rc.Cluster = &redis.Cluster{Addrs: c.Addrs, Username: c.Username, Password: c.Password, TLS: c.TLS}
	}
	return rc
}

// sharedRedis returns the configuration every Redis part of the process
// uses, with its one connection pool: dialled by the first part that needs
// it (the process refuses to start when Redis does not answer) and closed
// after the last.
func sharedRedis(ctx context.Context, cfg config.Redis, p *parts) (redis.Config, error) {
	if p.redis != nil {
		return *p.redis, nil
	}
	rc := redisConfig(cfg)
	client, err := redis.Dial(ctx, rc)
	if err != nil {
		return rc, redisKeyError(cfg, err)
	}
	rc.Client = client
	p.redis = &rc
	p.closers = append(p.closers, func(context.Context) error { return client.Close() })
	return rc, nil
}

// redisKeyError names the key the operator wrote for Redis in err.
func redisKeyError(cfg config.Redis, err error) error {
	if cfg.Sentinel != nil {
		return fmt.Errorf("realtime.redis.sentinel: %w", err)
	}
	if cfg.Cluster != nil {
		return fmt.Errorf("realtime.redis.cluster: %w", err)
	}
	return fmt.Errorf("realtime.redis.url: %w", err)
}

// wireRevocations builds the revocation list every verifier asks and the
// realtime hub subscribes to: in memory, or shared through Redis when
// realtime.backplane is redis, so that a session logged out on one node is
// refused by every verifier of every node, those started later included,
// and its sockets close on every node, whether or not the node of the
// logout hosts apps. Verifiers ask a local mirror (no Redis round trip per
// token or cookie). It fails at start when Redis does not answer.
func wireRevocations(ctx context.Context, e env, p *parts) (revocation.List, error) {
	if !usesRedis(e.cfg) {
		return revocation.NewMemory(nil), nil
	}
	rc, err := sharedRedis(ctx, e.cfg.Realtime.Redis, p)
	if err != nil {
		return nil, err
	}
	revs, err := redis.NewRevocations(ctx, rc, e.log)
	if err != nil {
		return nil, redisKeyError(e.cfg.Realtime.Redis, err)
	}
	p.closers = append(p.closers, func(context.Context) error { return revs.Close() })
	p.ready = append(p.ready, handlers.ReadyCheck{Name: "revocations", Check: revs.Ping})
	p.backgroundErrors = append(p.backgroundErrors, revs.Errors)
	return revs, nil
}

// newRedisBackplane connects the realtime layer to Redis (realtime.backplane:
// redis). It fails at start when Redis does not answer.
func newRedisBackplane(ctx context.Context, e env, p *parts) (realtime.Backplane, error) {
	rc, err := sharedRedis(ctx, e.cfg.Realtime.Redis, p)
	if err != nil {
		return nil, err
	}
	bp, err := redis.New(ctx, rc, e.log)
	if err != nil {
		return nil, redisKeyError(e.cfg.Realtime.Redis, err)
	}
	p.backgroundErrors = append(p.backgroundErrors, bp.Errors)
	return bp, nil
}

// newRedisSessionStore keeps the server-side part of login sessions and the
// back-channel logout index in Redis, so that a session made on one node is
// read whole on every node and a back-channel logout reaching any node
// revokes the sessions made on all of them. It fails at start when Redis
// does not answer.
func newRedisSessionStore(ctx context.Context, cfg config.Redis, p *parts) (*redis.SessionStore, error) {
	rc, err := sharedRedis(ctx, cfg, p)
	if err != nil {
		return nil, err
	}
	store, err := redis.NewSessionStore(ctx, rc, 0)
	if err != nil {
		return nil, redisKeyError(cfg, err)
	}
	p.closers = append(p.closers, func(context.Context) error { return store.Close() })
	p.ready = append(p.ready, handlers.ReadyCheck{Name: "sessions", Check: store.Ping})
	return store, nil
}
