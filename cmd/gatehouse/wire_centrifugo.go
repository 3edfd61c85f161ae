package main

import (
	"context"

	"gatehouse/authn"
	"gatehouse/config"
	"gatehouse/fronts/centrifugo"
	"gatehouse/handlers"
)

// wireCentrifugo mounts the Centrifugo v6 proxy endpoints when
// centrifugo.enabled, and with centrifugo.api disconnects the Centrifugo
// clients of a revoked session through Centrifugo's server API.
func wireCentrifugo(e env, c *core, res *authn.Resolver, p *parts) error {
	cfg := e.cfg
	cf := cfg.Centrifugo
	var sessions *centrifugo.Sessions
	if cf.Enabled && cf.API != nil {
		sessions = centrifugo.NewSessions(cf.API.URL, cf.API.Key, e.log)
		stop := c.revocations.Subscribe(sessions.Revoked)
		p.closers = append(p.closers, func(context.Context) error { stop(); return nil })
	}
	pc := centrifugo.Config{
		Enabled:            cf.Enabled,
		Anonymous:          config.On(cfg.Tokens.Anonymous.Enabled),
		AnonymousLimit:     c.anonymousLimit,
		AnonymousTTL:       cfg.Tokens.Anonymous.TTL,
		ServerSideChannels: cf.ServerSideChannels,
		RefreshEvery:       cf.RefreshInterval,
	}
	if pc.RefreshEvery == 0 {
		pc.RefreshEvery = cfg.Tokens.TTL
	}
	if h := cf.ProxyHeader; h != nil {
		pc.HeaderName, pc.HeaderValue = h.Name, h.Value
	}
	proxy, err := centrifugo.New(pc, res.For(authn.FrontCentrifugo), c.revocations, sessions, c.metrics, e.log)
	if err != nil {
		return err
	}
	p.routes = append(p.routes, handlers.Routes(proxy.Routes()))
	return nil
}
