package main

import (
	"gatehouse/config"
	"gatehouse/handlers"
)

// wireTokens adds the JWKS and discovery documents and POST
// /token/anonymous.
func wireTokens(e env, c *core, p *parts) error {
	cfg := e.cfg
	wk, err := handlers.NewWellKnown(c.issuer, cfg.Server.PublicURL)
	if err != nil {
		return err
	}
	anon, err := handlers.NewAnonymous(handlers.AnonymousConfig{
		Enabled:    config.On(cfg.Tokens.Anonymous.Enabled),
		TTL:        cfg.Tokens.Anonymous.TTL,
		Algorithms: cfg.Tokens.Anonymous.Algorithms,
	}, c.issuer, c.policy, c.anonymousLimit, c.metrics, e.log)
	if err != nil {
		return err
	}
	p.routes = append(p.routes, wk, anon)
	return nil
}
