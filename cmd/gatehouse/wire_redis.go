package main

import (
	"context"
	"fmt"

	"gatehouse/config"
	"gatehouse/handlers"
	"gatehouse/oidc"
	"gatehouse/realtime"
	"gatehouse/realtime/redis"
)

var (
	_ oidc.SpillStore   = (*redis.SessionStore)(nil)
	_ oidc.SessionIndex = (*redis.SessionStore)(nil)
)

// usesRedis reports whether realtime.backplane is redis: then every part
// that must agree across nodes keeps its state in that Redis.
func usesRedis(cfg *config.Config) bool { return cfg.Realtime.Backplane == "redis" }

// redisConfig is the connection every Redis part of this process uses.
func redisConfig(a *app, cfg config.Redis) redis.Config {
	return redis.Config{URL: cfg.URL, Now: a.issuer.Now}
}

// newRedisBackplane connects the realtime layer to Redis (realtime.backplane:
// redis) and makes revocations cross nodes, so that a session logged out on
// one node is refused by every verifier of every node, those started later
// included. It fails at start when Redis does not answer.
func newRedisBackplane(ctx context.Context, a *app, cfg config.Redis) (realtime.Backplane, error) {
	rc := redisConfig(a, cfg)
	bp, err := redis.New(ctx, rc, a.log)
	if err != nil {
		return nil, fmt.Errorf("realtime.redis.url: %w", err)
	}
	revs, err := wireRedisRevocations(ctx, a, rc, bp)
	if err != nil {
		_ = bp.Close()
		return nil, err
	}
	a.metrics.CounterFunc("gatehouse_backplane_background_errors_total",
		"Failed background work of the Redis backplane: lost pub/sub connections, heartbeats, sweeps, revocation writes.",
		func() float64 { return float64(bp.Errors() + revs.Errors()) })
	return bp, nil
}

// wireRedisRevocations puts a Redis-shared list in front of the local one.
// Verifiers keep asking the local list (no Redis round trip per token or
// cookie); it is loaded from Redis at start and fed by every node's
// announcements. A revocation whose news did not travel (this node was cut
// off from Redis, or Redis was down at the logout) is sent to the hubs again
// once Redis answers, so every node's sockets of that session close. The list lives as long as the process, whether or not
// realtime apps are hosted.
func wireRedisRevocations(ctx context.Context, a *app, rc redis.Config, bp *redis.Backplane) (*redis.Revocations, error) {
	missed := func(ctx context.Context, sid string) {
		env := realtime.Envelope{Kind: realtime.KindRevokeSession, Origin: bp.Node(), SID: sid}
		if err := bp.Publish(ctx, env); err != nil {
			a.log.WarnContext(ctx, "realtime: resend a revocation after a Redis outage", "err", err)
		}
	}
	revs, err := redis.NewRevocations(ctx, rc, a.revocations, missed, a.log)
	if err != nil {
		return nil, fmt.Errorf("realtime.redis.url: %w", err)
	}
	a.revocations = revs
	a.closers = append(a.closers, func(context.Context) error { return revs.Close() })
	a.ready = append(a.ready, handlers.ReadyCheck{Name: "revocations", Check: revs.Ping})
	return revs, nil
}

// newRedisSessionStore keeps the server-side part of login sessions and the
// back-channel logout index in Redis, so that a session made on one node is
// read whole on every node and a back-channel logout reaching any node
// revokes the sessions made on all of them. It fails at start when Redis
// does not answer.
func newRedisSessionStore(ctx context.Context, a *app) (*redis.SessionStore, error) {
	store, err := redis.NewSessionStore(ctx, redisConfig(a, a.cfg.Realtime.Redis), 0)
	if err != nil {
		return nil, fmt.Errorf("realtime.redis.url: %w", err)
	}
	a.closers = append(a.closers, func(context.Context) error { return store.Close() })
	a.ready = append(a.ready, handlers.ReadyCheck{Name: "sessions", Check: store.Ping})
	return store, nil
}
