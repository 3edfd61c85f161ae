package main

import (
	"context"
	"fmt"

	"gatehouse/authn"
	"gatehouse/config"
	"gatehouse/fronts/deepstream"
	"gatehouse/fronts/pusherauth"
	"gatehouse/handlers"
	"gatehouse/internal/httpx"
	"gatehouse/issuer"
)

// wireFronts adds the broker auth fronts (deepstream webhook, Pusher channel
// and user auth), the extra token profiles and the verified-token cache.
// It runs after wireOIDC, so a.sessions is set when login is configured.
func wireFronts(ctx context.Context, a *app) error {
	_ = ctx
	cfg := a.cfg

	anonymous := config.On(cfg.Tokens.Anonymous.Enabled)
	res, err := authn.NewResolver(a.issuer, a.policy, a.sessions, cfg.Tokens.Anonymous.TTL)
	if err != nil {
		return err
	}
	ds, err := deepstream.New(deepstream.Config{
		// On unless turned off: it only answers who a credential belongs to.
		Enabled:   cfg.Deepstream.Enabled == nil || *cfg.Deepstream.Enabled,
		Anonymous: anonymous,
	}, res, a.metrics, a.log)
	if err != nil {
		return err
	}
	cors := httpx.NewCORS(append([]string{cfg.Server.PublicURL}, cfg.OIDC.RedirectAllowlist...)...)
	pa, err := pusherauth.New(pusherauth.Config{Apps: a.apps, Anonymous: anonymous}, res, cors, a.metrics, a.log)
	if err != nil {
		return err
	}
	a.pusherAuth = pa
	a.groups = append(a.groups, handlers.Routes(ds.Routes()), handlers.Routes(pa.Routes()))
	return nil
}

// registerProfiles registers the token profiles the config enables (the
// centrifugo profiles always, ably when profiles.ably is set). `token mint
// --profile` needs them too, so buildCore should call it as well.
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
