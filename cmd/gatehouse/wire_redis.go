package main

import (
	"context"
	"fmt"

	"gatehouse/config"
	"gatehouse/handlers"
	"gatehouse/realtime"
	"gatehouse/realtime/redis"
)

// Until newBackplane calls it, this keeps staticcheck's unused check quiet.
var _ = newRedisBackplane

// newRedisBackplane connects the realtime layer to Redis (realtime.backplane:
// redis) and makes revocations cross nodes, so that a session logged out on
// one node is refused by every verifier of every node, those started later
// included. It fails at start when Redis does not answer.
func newRedisBackplane(ctx context.Context, a *app, cfg config.Redis) (realtime.Backplane, error) {
	rc := redis.Config{URL: cfg.URL, Now: a.issuer.Now}
	revs, err := wireRedisRevocations(ctx, a, rc)
	if err != nil {
		return nil, err
	}
	bp, err := redis.New(ctx, rc, a.log)
	if err != nil {
		return nil, fmt.Errorf("realtime.redis.url: %w", err)
	}
	a.metrics.CounterFunc("gatehouse_backplane_background_errors_total",
		"Failed background work of the Redis backplane: lost pub/sub connections, heartbeats, sweeps, revocation writes.",
		func() float64 { return float64(bp.Errors() + revs.Errors()) })
	return bp, nil
}

// wireRedisRevocations puts a Redis-shared list in front of the local one.
// Verifiers keep asking the local list (no Redis round trip per token or
// cookie); it is filled from Redis at start and on every revocation any
// node announces. A revocation a node missed while cut off from Redis closes
// that node's sockets of the session when the node reconnects. The list
// lives as long as the process, whether or not realtime apps are hosted.
func wireRedisRevocations(ctx context.Context, a *app, rc redis.Config) (*redis.Revocations, error) {
	missed := func(ctx context.Context, sid string) {
		for _, f := range a.onRevoke {
			f(ctx, sid)
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
