package main

import (
	"context"
	"fmt"

	"gatehouse/apps"
	"gatehouse/fronts/pusherauth"
	"gatehouse/handlers"
	"gatehouse/policy"
	"gatehouse/realtime"
	"gatehouse/realtime/memory"
	"gatehouse/realtime/pusher"
	"gatehouse/realtime/topics"
)

// demoChannel is the presence channel the demo chat runs in; the dev
// policy lets anonymous callers subscribe to it and send client events.
const demoChannel = "presence-lobby"

// wireRealtime adds the hosted realtime layer: the hub on its backplane
// (closing the sockets of revoked sessions), the Pusher and JWT-topic
// protocol servers and their routes, the backplane readiness check,
// metrics, and the demo chat in dev. It returns what binds Pusher sockets
// to login sessions, nil when there is no app to host.
func wireRealtime(ctx context.Context, e env, c *core, p *parts) (pusherauth.SessionBinder, error) {
	cfg := e.cfg
	if c.apps.Len() == 0 {
		// Nothing to host; the backplane's name is still checked.
		return nil, checkBackplaneName(cfg.Realtime.Backplane)
	}
	bp, err := newBackplane(ctx, e, p)
	if err != nil {
		return nil, err
	}
	p.closers = append(p.closers, func(context.Context) error { return bp.Close() })
	counted := &countingBackplane{Backplane: bp}
	l := cfg.Realtime.Limits
	// The hub takes the backplane's node id when it has one, so both name
	// this process the same way in the backplane's state.
	var node string
	if n, ok := bp.(interface{ Node() string }); ok {
		node = n.Node()
	}
	hub, err := realtime.New(ctx, realtime.Config{Node: node, History: historyRules(c.apps), Limits: realtime.Limits{
		MaxConnections:         l.MaxConnections,
		MaxMessageBytes:        l.MaxMessageBytes,
		ClientEventsPerSecond:  l.ClientEventsPerSecond,
		PresenceMembers:        l.PresenceMembers,
		ChannelsPerConnection:  l.ChannelsPerConnection,
		FramesPerSecond:        l.FramesPerSecond,
		FrameBurst:             l.FrameBurst,
		ConnectionsPerIP:       l.ConnectionsPerIP,
		AnonymousPresencePerIP: l.AnonymousPresencePerIP,
	}}, counted, c.revocations, e.log)
	if err != nil {
		return nil, err
	}
	// Closers run in reverse: the protocol servers first (their sockets get
	// the reconnect codes), then the hub, then the backplane.
	p.closers = append(p.closers, func(context.Context) error { return hub.Close() })
	ps, err := pusher.New(pusher.Config{Apps: c.apps, PublicSubscribe: publicSubscribe(c.policy)}, hub, e.log)
	if err != nil {
		return nil, err
	}
	p.closers = append(p.closers, func(context.Context) error { return ps.Close() })
	// Topic sockets present our tokens (the issuer refuses revoked sids),
	// the app's own keys' or trusted issuers'.
	res, err := c.trust.resolver(c, nil, cfg.Tokens.Anonymous.TTL)
	if err != nil {
		return nil, err
	}
	ts, err := topics.New(topics.Config{Apps: c.apps}, hub, res, e.log)
	if err != nil {
		return nil, err
	}
	p.closers = append(p.closers, func(context.Context) error { return ts.Close() })

	p.ready = append(p.ready, handlers.ReadyCheck{Name: "backplane", Check: counted.Ping})
	registerRealtimeMetrics(c.metrics, hub, counted)
	p.routes = append(p.routes, handlers.Routes(ps.Routes()), handlers.Routes(ts.Routes()))

	if c.devApp != nil {
		chat, err := handlers.NewChat(handlers.ChatConfig{
			AppID: c.devApp.ID, AppKey: c.devApp.Key, Channel: demoChannel,
			LoginProvider: devProviderName, PublicURL: cfg.Server.PublicURL,
		})
		if err != nil {
			return nil, err
		}
		p.routes = append(p.routes, chat)
		p.banner = append(p.banner, fmt.Sprintf("demo chat   %s/", cfg.Server.PublicURL))
		for _, gap := range demoPolicyGaps(c.policy) {
			e.log.WarnContext(ctx, "demo chat: "+gap)
			p.banner = append(p.banner, "demo chat   "+gap)
		}
	}
	// /pusher/auth binds each socket it authorizes to the caller's session.
	return ps, nil
}

// checkBackplaneName refuses an unknown realtime.backplane.
func checkBackplaneName(name string) error {
	switch name {
	case "", "memory", "redis":
		return nil
	}
	return fmt.Errorf("realtime.backplane: unknown %q (memory or redis)", name)
}

// newBackplane builds the backplane realtime.backplane names; an unknown
// name fails at start.
func newBackplane(ctx context.Context, e env, p *parts) (realtime.Backplane, error) {
	switch e.cfg.Realtime.Backplane {
	case "", "memory":
		return memory.New(memory.Config{}), nil
	case "redis":
		return newRedisBackplane(ctx, e, p)
	}
	return nil, checkBackplaneName(e.cfg.Realtime.Backplane)
}

// registerRealtimeMetrics exposes the hub's counters to Prometheus.
func registerRealtimeMetrics(m *handlers.Metrics, hub *realtime.Hub, bp *countingBackplane) {
	for _, r := range []realtime.Refusal{realtime.RefusedChannelCap, realtime.RefusedFrameFlood, realtime.RefusedIPCap, realtime.RefusedAnonymousPresence} {
		m.LabeledCounterFunc("gatehouse_realtime_refusals_total",
			"Subscriptions and connections the per-connection and per-address limits refused, by reason.",
			map[string]string{"reason": r.String()}, func() float64 { return float64(hub.RefusedCount(r)) })
	}
	m.GaugeFunc("gatehouse_connections", "Open realtime connections on this node.",
		func() float64 { return float64(hub.Stats().Connections) })
	m.GaugeFunc("gatehouse_subscriptions", "Channel subscriptions on this node.",
		func() float64 { return float64(hub.Stats().Subscriptions) })
	m.CounterFunc("gatehouse_messages_in_total", "Messages published into the hub from this node.",
		func() float64 { return float64(hub.Stats().Published) })
	m.CounterFunc("gatehouse_messages_out_total", "Messages delivered to connections of this node.",
		func() float64 { return float64(hub.Stats().Delivered) })
	m.CounterFunc("gatehouse_realtime_resyncs_total",
		"Connections told to reconnect because events of one of their channels may have been lost between nodes (beyond the Redis stream window).",
		func() float64 { return float64(hub.Stats().Resynced) })
	m.CounterFunc("gatehouse_backplane_errors_total", "Failed backplane calls.",
		func() float64 { return float64(bp.errors.Load()) })
}

// publicSubscribe answers which public Pusher channels a socket may join
// without a credential: those the policy lets an anonymous caller read.
// Topics and Pusher channels are one namespace, so a name the policy
// restricts must not be readable over Pusher for want of a prefix.
func publicSubscribe(pol *policy.Engine) func(string) bool {
	anon := pol.Grants(policy.Identity{Subject: "anon:public-channel", Anonymous: true}.Normalize())
	return anon.CanSubscribe
}

// historyRules answers, for a channel of an app, the first of the app's
// history rules (apps[].history, or realtime.history) with a pattern that
// matches it.
func historyRules(set *apps.Set) func(app, channel string) (realtime.HistoryRule, bool) {
	return func(app, channel string) (realtime.HistoryRule, bool) {
		a := set.ByID(app)
		if a == nil {
			return realtime.HistoryRule{}, false
		}
		for _, r := range a.History {
			for _, pattern := range r.Channels {
				if policy.Match(pattern, channel) {
					return realtime.HistoryRule{Limit: r.Limit, TTL: r.TTL}, true
				}
			}
		}
		return realtime.HistoryRule{}, false
	}
}
