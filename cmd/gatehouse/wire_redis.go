package main

import (
	"context"
	"fmt"

	"gatehouse/config"
	"gatehouse/handlers"
	"gatehouse/realtime"
	"gatehouse/realtime/redis"
)

// newRedisBackplane connects the realtime layer to Redis (realtime.backplane:
// redis) and makes revocations cross nodes, so that a session logged out on
// one node is refused by every verifier of every node, those started later
// included. It fails at start when Redis does not answer.
func newRedisBackplane(ctx context.Context, a *app, cfg config.Redis) (realtime.Backplane, error) {
	rc := redis.Config{URL: cfg.URL, Now: a.issuer.Now}
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
