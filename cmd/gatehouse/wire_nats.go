package main

import (
	"context"
	"fmt"

	"gatehouse/authn"
	"gatehouse/config"
	"gatehouse/fronts/nats"
	"gatehouse/handlers"
)

// wireNATS runs the NATS auth callout service when nats.url is set. It is
// not HTTP: it connects to NATS and answers $SYS.REQ.USER.AUTH. /readyz
// names it while the connection is down; it reconnects by itself. With
// nats.system it kicks a revoked session's connections at once.
func wireNATS(e env, c *core, res *authn.Resolver, p *parts) error {
	cfg := e.cfg
	n := cfg.NATS
	if n.URL == "" {
		return nil
	}
	nc := nats.Config{
		URL: n.URL, User: n.User, Password: n.Password,
		IssuerSeed: []byte(n.IssuerSeed), XKeySeed: []byte(n.XKeySeed), Account: n.Account,
		MaxTTL:         cfg.Tokens.TTL,
		Anonymous:      config.On(cfg.Tokens.Anonymous.Enabled),
		AnonymousTTL:   cfg.Tokens.Anonymous.TTL,
		AnonymousLimit: c.anonymousLimit,
	}
	if s := n.System; s != nil {
		nc.SystemUser, nc.SystemPassword, nc.Revocations = s.User, s.Password, c.revocations
	}
	callout, err := nats.Start(nc, res.For(authn.FrontNATS), c.metrics, e.log)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	p.closers = append(p.closers, func(context.Context) error { return callout.Close() })
	p.ready = append(p.ready, handlers.ReadyCheck{Name: "nats", Check: callout.Ready})
	return nil
}
