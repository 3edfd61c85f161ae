package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"gatehouse/config"
	"gatehouse/handlers"
	"gatehouse/realtime/redis"
)

// env is what a process is wired from: the config (read, never changed),
// the mode, the data dir and the logger.
type env struct {
	cfg     *config.Config
	mode    mode
	dataDir string
	log     *slog.Logger
}

// parts is what the areas add to the server: route groups, readiness
// checks, what to close at shutdown (closed in reverse), the dev banner's
// lines, and counters of failed background work. Each wire function adds
// its own and reads nobody else's.
type parts struct {
	routes  []handlers.Mounter
	ready   []handlers.ReadyCheck
	closers []func(context.Context) error
	banner  []string
	// backgroundErrors are summed into
	// gatehouse_backplane_background_errors_total (the Redis parts).
	backgroundErrors []func() uint64
	// redis is the Redis connection every Redis part shares (nil until the
	// first one is wired; see sharedRedis).
	redis *redis.Config
}

// closeAll runs the closers in reverse order: the protocol servers before
// the hub, the hub before its backplane.
func (p *parts) closeAll(ctx context.Context) error {
	var errs []error
	for i := len(p.closers) - 1; i >= 0; i-- {
		errs = append(errs, p.closers[i](ctx))
	}
	return errors.Join(errs...)
}

// server is a wired process: its handler, its parts and its core (which
// tests reach into).
type server struct {
	handler http.Handler
	parts
	core *core
}

// build wires every area of the server. Each area is one wire_<area>.go
// function that takes what it needs and returns what others need, so the
// order below is the only one that compiles:
//
//	core     revocations, keys, issuer, policy, metrics, apps (wire_core.go)
//	tokens   JWKS, discovery, anonymous tokens           (wire_tokens.go)
//	oidc     login, sessions, pages, /token              → sessions
//	realtime hub, Pusher and topic servers               → session binder
//	fronts   deepstream webhook, Pusher auth             (sessions, binder)
//
// A new front adds a wire_<front>.go taking what it needs from core and the
// areas before it. When build fails, what was started is closed.
func build(ctx context.Context, e env) (_ *server, err error) {
	p := &parts{}
	defer func() {
		if err != nil {
			_ = p.closeAll(context.WithoutCancel(ctx))
		}
	}()
	c, err := wireCore(ctx, e, p)
	if err != nil {
		return nil, err
	}
	if err := wireTokens(e, c, p); err != nil {
		return nil, err
	}
	sessions, err := wireOIDC(ctx, e, c, p)
	if err != nil {
		return nil, err
	}
	binder, err := wireRealtime(ctx, e, c, p)
	if err != nil {
		return nil, err
	}
	if err := wireFronts(ctx, e, c, sessions, binder, p); err != nil {
		return nil, err
	}
	if len(p.backgroundErrors) > 0 {
		counters := p.backgroundErrors
		c.metrics.CounterFunc("gatehouse_backplane_background_errors_total",
			"Failed background work of the Redis backplane: lost pub/sub connections, heartbeats, sweeps, revocation writes.",
			func() float64 {
				var n uint64
				for _, f := range counters {
					n += f()
				}
				return float64(n)
			})
	}
	health := &handlers.Health{Checks: p.ready, Metrics: c.metrics, Log: e.log, MetricsElsewhere: e.cfg.Server.MetricsAddr != ""}
	h, err := handlers.NewRouter(handlers.ServerConfig{TrustedProxies: e.cfg.Server.TrustedProxies}, c.metrics, e.log,
		append([]handlers.Mounter{health}, p.routes...)...)
	if err != nil {
		return nil, err
	}
	return &server{handler: h, parts: *p, core: c}, nil
}

// metricsMux serves only /metrics, for server.metrics_addr.
func metricsMux(m *handlers.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", handlers.MetricsHandler(m))
	return mux
}
