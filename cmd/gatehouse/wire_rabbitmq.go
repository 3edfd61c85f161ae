package main

import (
	"context"

	"gatehouse/authn"
	"gatehouse/fronts/rabbitmq"
	"gatehouse/handlers"
)

// wireRabbitMQ mounts the rabbitmq_auth_backend_http endpoints when
// rabbitmq.enabled; with rabbitmq.management a revoked session's
// connections are closed through RabbitMQ's management API.
func wireRabbitMQ(e env, c *core, res *authn.Resolver, p *parts) error {
	rc := e.cfg.RabbitMQ
	if !rc.Enabled {
		return nil
	}
	b, err := rabbitmq.New(rabbitmq.Config{Vhost: rc.Vhost, AnyUsername: rc.AnyUsername}, res.For(authn.FrontRabbitMQ), c.metrics, e.log)
	if err != nil {
		return err
	}
	var mgmt *rabbitmq.Management
	if m := rc.Management; m != nil {
		mgmt = rabbitmq.NewManagement(m.URL, m.User, m.Password, e.log)
	}
	stop := c.revocations.Subscribe(func(sid string) { b.Revoked(sid, mgmt) })
	p.closers = append(p.closers, func(context.Context) error { stop(); return nil })
	p.routes = append(p.routes, handlers.Routes(b.Routes()))
	return nil
}
