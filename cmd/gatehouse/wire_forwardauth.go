package main

import (
	"gatehouse/authn"
	"gatehouse/config"
	"gatehouse/fronts/forwardauth"
	"gatehouse/handlers"
)

// wireForwardAuth mounts GET /auth/verify and /webhooks/nchan unless
// forward_auth.enabled is false.
func wireForwardAuth(e env, c *core, res *authn.Resolver, p *parts) error {
	cfg := e.cfg
	fa := cfg.ForwardAuth
	if fa.Enabled != nil && !*fa.Enabled {
		return nil
	}
	front, err := forwardauth.New(forwardauth.Config{
		PublicURL: cfg.Server.PublicURL,
		PassToken: fa.PassToken,
		Anonymous: config.On(cfg.Tokens.Anonymous.Enabled),
	}, res.For(authn.FrontForwardAuth), c.issuer, c.metrics, e.log)
	if err != nil {
		return err
	}
	p.routes = append(p.routes, handlers.Routes(front.Routes()))
	return nil
}
