package main

import (
	"context"
	"fmt"

	"gatehouse/apps"
	"gatehouse/config"
	"gatehouse/handlers"
	"gatehouse/internal/httpx"
	"gatehouse/issuer"
	"gatehouse/keys"
	"gatehouse/policy"
	"gatehouse/revocation"
)

// core is what every area is built on.
type core struct {
	keys   *keys.Set
	issuer *issuer.Issuer
	policy *policy.Engine
	// revocations hold the logged-out session ids: every verifier asks
	// them, the realtime hub subscribes to them, logouts add to them.
	revocations revocation.List
	metrics     *handlers.Metrics
	// anonymousLimit bounds the anonymous identities per client address
	// (tokens.anonymous.rate); every part that mints them shares it.
	anonymousLimit *httpx.RateLimiter
	// apps are the hosted apps, decoded once; devApp is the one `gatehouse
	// dev` added (nil otherwise).
	apps   *apps.Set
	devApp *apps.App
	// trust holds the trusted issuers and the apps' own keys.
	trust *trusted
}

// wireCore builds the core: the revocation list first (the issuer asks
// it), then keys, issuer (with the verified-token cache every verifier
// shares) and policy, the metrics and the apps.
func wireCore(ctx context.Context, e env, p *parts) (*core, error) {
	c := &core{metrics: handlers.NewMetrics()}
	var err error
	if c.revocations, err = wireRevocations(ctx, e, p); err != nil {
		return nil, err
	}
	c.keys, c.issuer, c.policy, err = buildCore(e.cfg, keyDir(e.cfg, e.dataDir), c.revocations,
		issuer.NewCache(issuer.DefaultCacheSize, nil))
	if err != nil {
		return nil, err
	}
	p.ready = append(p.ready, handlers.ReadyCheck{Name: "keys", Check: func(context.Context) error { return nil }})
	rate := e.cfg.Tokens.Anonymous.Rate
	c.anonymousLimit = httpx.NewRateLimiter(rate.PerIP, rate.Per, c.issuer.Now)
	if c.apps, c.devApp, err = wireApps(e, p); err != nil {
		return nil, err
	}
	if c.trust, err = wireTrust(ctx, e, p); err != nil {
		return nil, err
	}
	return c, nil
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

// registerProfiles registers the token profiles the config enables (the
// centrifugo profiles always, ably when profiles.ably is set).
func registerProfiles(cfg *config.Config, iss *issuer.Issuer) error {
	var pc issuer.ProfilesConfig
	if c := cfg.Profiles.Centrifugo; c != nil {
		pc.Centrifugo = &issuer.CentrifugoConfig{Audience: c.Audience}
	}
	if c := cfg.Profiles.Ably; c != nil {
		pc.Ably = &issuer.AblyConfig{KeyName: c.KeyName, KeySecret: c.KeySecret}
	}
	if err := iss.RegisterProfiles(pc); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	return nil
}
