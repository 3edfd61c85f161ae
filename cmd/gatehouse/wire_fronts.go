package main

import (
	"context"

	"gatehouse/authn"
	"gatehouse/config"
	"gatehouse/fronts/deepstream"
	"gatehouse/fronts/pusherauth"
	"gatehouse/handlers"
	"gatehouse/internal/httpx"
)

// wireFronts adds the broker auth fronts: the deepstream webhook and Pusher
// channel and user auth. sessions reads login cookies (nil without login);
// binder binds Pusher sockets to sessions (nil when no app is hosted here).
func wireFronts(ctx context.Context, e env, c *core, sessions authn.SessionReader, binder pusherauth.SessionBinder, p *parts) error {
	cfg := e.cfg
	anonymous := config.On(cfg.Tokens.Anonymous.Enabled)
	res, err := c.trust.resolver(c, sessions, cfg.Tokens.Anonymous.TTL)
	if err != nil {
		return err
	}
	ds, err := deepstream.New(deepstream.Config{
		// On unless turned off: it only answers who a credential belongs to.
		Enabled:        cfg.Deepstream.Enabled == nil || *cfg.Deepstream.Enabled,
		Anonymous:      anonymous,
		AnonymousLimit: c.anonymousLimit,
	}, res.For(authn.FrontDeepstream), c.metrics, e.log)
	if err != nil {
		return err
	}
	cors := httpx.NewCORS(append([]string{cfg.Server.PublicURL}, cfg.OIDC.RedirectAllowlist...)...)
	pa, err := pusherauth.New(pusherauth.Config{Apps: c.apps, Anonymous: anonymous, AnonymousLimit: c.anonymousLimit}, res.For(authn.FrontPusher), cors, binder, c.metrics, e.log)
	if err != nil {
		return err
	}
	p.routes = append(p.routes, handlers.Routes(ds.Routes()), handlers.Routes(pa.Routes()))
	if err := wireCentrifugo(e, c, res, p); err != nil {
		return err
	}
	if err := wireNATS(e, c, res, p); err != nil {
		return err
	}
	if err := wireForwardAuth(e, c, res, p); err != nil {
		return err
	}
	return wireRabbitMQ(ctx, e, c, res, p)
}
