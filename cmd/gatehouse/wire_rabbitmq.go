package main

import (
	"context"

	"gatehouse/authn"
	"gatehouse/fronts/rabbitmq"
	"gatehouse/handlers"
	"gatehouse/realtime/redis"
)

// wireRabbitMQ mounts the rabbitmq_auth_backend_http endpoints when
// rabbitmq.enabled; with rabbitmq.management a revoked session's
// connections are closed through RabbitMQ's management API. With
// realtime.backplane redis the verified users are kept in Redis, so
// RabbitMQ may ask any node any check.
func wireRabbitMQ(ctx context.Context, e env, c *core, res *authn.Resolver, p *parts) error {
	rc := e.cfg.RabbitMQ
	if !rc.Enabled {
		return nil
	}
	var users rabbitmq.Users
	if usesRedis(e.cfg) {
		shared, err := sharedRedis(ctx, e.cfg.Realtime.Redis, p)
		if err != nil {
			return err
		}
		u, err := redis.NewRabbitUsers(ctx, shared)
		if err != nil {
			return redisKeyError(e.cfg.Realtime.Redis, err)
		}
		p.closers = append(p.closers, func(context.Context) error { return u.Close() })
		p.ready = append(p.ready, handlers.ReadyCheck{Name: "rabbitmq-users", Check: u.Ping})
		users = u
	}
	b, err := rabbitmq.New(rabbitmq.Config{Vhost: rc.Vhost, AnyUsername: rc.AnyUsername, Users: users}, res.For(authn.FrontRabbitMQ), c.metrics, e.log)
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
