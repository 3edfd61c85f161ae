package main

import (
	"context"
	"fmt"

	"gatehouse/config"
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

// wireRealtime adds the hosted realtime layer: the hub on its backplane, the
// Pusher and JWT-topic protocol servers, their routes, revocation of live sockets, the
// backplane readiness check, metrics, and the demo chat in dev.
func wireRealtime(ctx context.Context, a *app) error {
	cfg := a.cfg
	bp, err := newBackplane(ctx, a, cfg.Realtime)
	if err != nil {
		return err
	}
	if len(cfg.Apps) == 0 {
		// Nothing to host; the backplane name was still checked above.
		_ = bp.Close()
		return nil
	}
	counted := &countingBackplane{Backplane: bp}
	l := cfg.Realtime.Limits
	// The hub takes the backplane's node id when it has one, so both name
	// this process the same way in the backplane's state.
	var node string
	if n, ok := bp.(interface{ Node() string }); ok {
		node = n.Node()
	}
	hub, err := realtime.New(ctx, realtime.Config{Node: node, Limits: realtime.Limits{
		MaxConnections:        l.MaxConnections,
		MaxMessageBytes:       l.MaxMessageBytes,
		ClientEventsPerSecond: l.ClientEventsPerSecond,
		PresenceMembers:       l.PresenceMembers,
	}}, counted, a.revocations, a.log)
	if err != nil {
		_ = bp.Close()
		return err
	}
	// Closers run in reverse: the protocol servers first (their sockets get
	// the reconnect codes), then the hub, then the backplane.
	a.closers = append(a.closers,
		func(context.Context) error { return bp.Close() },
		func(context.Context) error { return hub.Close() },
	)

	ps, err := pusher.New(pusher.Config{Apps: a.apps}, hub, a.log)
	if err != nil {
		return err
	}
	// Topic sockets present our tokens; the issuer refuses revoked sids.
	ts, err := topics.New(topics.Config{Apps: a.apps}, hub, a.issuer, a.log)
	if err != nil {
		_ = ps.Close()
		return err
	}
	a.closers = append(a.closers,
		func(context.Context) error { return ps.Close() },
		func(context.Context) error { return ts.Close() },
	)

	// /pusher/auth tells which session a socket authorized with.
	if pa := a.pusherAuth; pa != nil {
		pa.OnAuthorized(func(ctx context.Context, appID, socketID string, id policy.Identity) {
			if id.SessionID == "" {
				return
			}
			if err := ps.BindSession(ctx, appID, socketID, id.SessionID); err != nil {
				a.log.WarnContext(ctx, "realtime: bind session", "app", appID, "err", err)
			}
		})
	}

	a.ready = append(a.ready, handlers.ReadyCheck{Name: "backplane", Check: counted.Ping})
	registerRealtimeMetrics(a.metrics, hub, counted)

	a.groups = append(a.groups, handlers.Routes(ps.Routes()), handlers.Routes(ts.Routes()))

	if a.devApp {
		chat, err := handlers.NewChat(handlers.ChatConfig{
			AppID: devAppID, AppKey: cfg.Apps[0].Key, Channel: demoChannel,
			LoginProvider: devProviderName, PublicURL: cfg.Server.PublicURL,
		})
		if err != nil {
			return err
		}
		a.groups = append(a.groups, chat)
		a.banner = append(a.banner, fmt.Sprintf("demo chat   %s/", cfg.Server.PublicURL))
	}
	return nil
}

// newBackplane builds the backplane realtime.backplane names; an unknown
// name fails at start.
func newBackplane(ctx context.Context, a *app, rc config.Realtime) (realtime.Backplane, error) {
	switch rc.Backplane {
	case "", "memory":
		return memory.New(memory.Config{}), nil
	case "redis":
		return newRedisBackplane(ctx, a, rc.Redis)
	default:
		return nil, fmt.Errorf("realtime.backplane: unknown %q (memory or redis)", rc.Backplane)
	}
}

// registerRealtimeMetrics exposes the hub's counters to Prometheus.
func registerRealtimeMetrics(m *handlers.Metrics, hub *realtime.Hub, bp *countingBackplane) {
	m.GaugeFunc("gatehouse_connections", "Open realtime connections on this node.",
		func() float64 { return float64(hub.Stats().Connections) })
	m.GaugeFunc("gatehouse_subscriptions", "Channel subscriptions on this node.",
		func() float64 { return float64(hub.Stats().Subscriptions) })
	m.CounterFunc("gatehouse_messages_in_total", "Messages published into the hub from this node.",
		func() float64 { return float64(hub.Stats().Published) })
	m.CounterFunc("gatehouse_messages_out_total", "Messages delivered to connections of this node.",
		func() float64 { return float64(hub.Stats().Delivered) })
	m.CounterFunc("gatehouse_backplane_errors_total", "Failed backplane calls.",
		func() float64 { return float64(bp.errors.Load()) })
}
