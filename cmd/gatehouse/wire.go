package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"gatehouse/apps"
	"gatehouse/authn"
	"gatehouse/config"
	"gatehouse/fronts/pusherauth"
	"gatehouse/handlers"
	"gatehouse/issuer"
	"gatehouse/keys"
	"gatehouse/policy"
	"gatehouse/realtime/redis"
	"gatehouse/revocation"
)

// app is everything one process runs, wired from the config. Each product
// area adds its parts in a wire_<area>.go file.
type app struct {
	cfg     *config.Config
	mode    mode
	dataDir string
	log     *slog.Logger
	keys    *keys.Set
	issuer  *issuer.Issuer
	policy  *policy.Engine
	metrics *handlers.Metrics
	groups  []handlers.Mounter
	ready   []handlers.ReadyCheck
	closers []func(context.Context) error
	banner  []string // lines printed at start in dev
	devApp  bool     // the dev app was added (the demo chat runs on it)

	// revocations holds logged-out session ids: every verifier asks it and
	// the realtime hub subscribes to it.
	revocations revocation.List
	// redisRevocations is revocations when they live in Redis.
	redisRevocations *redis.Revocations
	// sessions reads login session cookies; nil when no login is configured.
	sessions authn.SessionReader
	// apps are the hosted apps, decoded once.
	apps *apps.Set
	// pusherAuth is the Pusher auth front, once wireFronts ran.
	pusherAuth *pusherauth.Auth
}

// loadKeys loads keys.signing, or generates/keeps one key per needed
// algorithm under dir.
func loadKeys(cfg *config.Config, dir string) (*keys.Set, error) {
	if len(cfg.Keys.Signing) > 0 {
		specs := make([]keys.Spec, len(cfg.Keys.Signing))
		for i, k := range cfg.Keys.Signing {
			specs[i] = keys.Spec{KID: k.KID, Alg: k.Alg, File: k.File}
		}
		return keys.Load(specs)
	}
	algs := append([]string{keys.ES256}, cfg.Tokens.Anonymous.Algorithms...)
	return keys.LoadDir(dir, algs)
}

// policyConfig maps the config's policy onto the policy package's own.
func policyConfig(p config.Policy) policy.Config {
	pc := policy.Config{Anonymous: policy.Rule{Subscribe: p.Anonymous.Subscribe, Publish: p.Anonymous.Publish}}
	for _, r := range p.Rules {
		pc.Rules = append(pc.Rules, policy.Rule{
			When: policy.Condition{
				Authenticated: r.When.Authenticated,
				Anonymous:     r.When.Anonymous,
				Role:          r.When.Role,
				Group:         r.When.Group,
				Provider:      r.When.Provider,
				EmailDomain:   r.When.EmailDomain,
				Claim:         r.When.Claim,
			},
			Subscribe: r.Subscribe,
			Publish:   r.Publish,
		})
	}
	return pc
}

// buildCore loads keys and builds the issuer and the policy engine: what
// both the server and `token mint` need. The server's issuer asks revs and
// keeps verified tokens in cache; `token mint` passes nil for both.
func buildCore(cfg *config.Config, keyDir string, revs revocation.Checker, cache *issuer.Cache) (*keys.Set, *issuer.Issuer, *policy.Engine, error) {
	ks, err := loadKeys(cfg, keyDir)
	if err != nil {
		return nil, nil, nil, err
	}
	iss, err := issuer.New(issuer.Config{
		Issuer:   cfg.Tokens.Issuer,
		Audience: cfg.Tokens.Audience,
		TTL:      cfg.Tokens.TTL,
		// Every verifier (the fronts, /token exchange, hosted sockets)
		// goes through Verify and so shares the cache.
		Revocations: revs,
		Cache:       cache,
	}, ks)
	if err != nil {
		return nil, nil, nil, err
	}
	// Profiles belong to the core: `token mint --profile` needs them too.
	if err := registerProfiles(cfg, iss); err != nil {
		return nil, nil, nil, err
	}
	pol, err := policy.New(policyConfig(cfg.Policy))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("policy: %w", err)
	}
	return ks, iss, pol, nil
}

// build wires every part of the server.
func build(ctx context.Context, a *app) (http.Handler, error) {
	cfg := a.cfg
	var err error
	a.metrics = handlers.NewMetrics()
	if err := wireRevocations(ctx, a); err != nil {
		return nil, err
	}
	a.keys, a.issuer, a.policy, err = buildCore(cfg, keyDir(cfg, a.dataDir), a.revocations, issuer.NewCache(issuer.DefaultCacheSize, nil))
	if err != nil {
		return nil, err
	}
	wk, err := handlers.NewWellKnown(a.issuer, cfg.Server.PublicURL)
	if err != nil {
		return nil, err
	}
	anon, err := handlers.NewAnonymous(handlers.AnonymousConfig{
		Enabled:    config.On(cfg.Tokens.Anonymous.Enabled),
		TTL:        cfg.Tokens.Anonymous.TTL,
		Algorithms: cfg.Tokens.Anonymous.Algorithms,
		RatePerIP:  cfg.Tokens.Anonymous.Rate.PerIP,
		RatePer:    cfg.Tokens.Anonymous.Rate.Per,
	}, a.issuer, a.policy, a.metrics, a.log)
	if err != nil {
		return nil, err
	}
	a.ready = append(a.ready, handlers.ReadyCheck{Name: "keys", Check: func(context.Context) error { return nil }})
	a.groups = append(a.groups, wk, anon)
	// Each product area wires itself in its own file, in dependency order:
	// sessions first (the fronts read them), the hosted realtime layer last.
	for _, wire := range []func(context.Context, *app) error{wireDevApp, wireApps, wireOIDC, wireFronts, wireRealtime} {
		if err := wire(ctx, a); err != nil {
			return nil, err
		}
	}
	a.groups = append([]handlers.Mounter{&handlers.Health{Checks: a.ready, Metrics: a.metrics}}, a.groups...)
	return handlers.NewRouter(handlers.ServerConfig{TrustedProxies: cfg.Server.TrustedProxies}, a.metrics, a.log, a.groups...)
}
