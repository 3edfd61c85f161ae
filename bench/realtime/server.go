package rtbench

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"gatehouse/apps"
	"gatehouse/internal/httpx"
	"gatehouse/realtime"
	"gatehouse/realtime/memory"
	"gatehouse/realtime/pusher"
	"gatehouse/revocation"
)

// App is the one Pusher app a benchmark uses.
type App struct {
	ID, Key, Secret string
}

// NewGatehouse wires Gatehouse's realtime layer as the gatehouse binary does
// (realtime.New on the in-memory backplane, pusher.New with the app, default
// limits) and returns a handler serving GET /app/{key} and the HTTP API, and
// a function that closes everything.
func NewGatehouse(ctx context.Context, a App, log *slog.Logger) (http.Handler, func(), error) {
	bp := memory.New(memory.Config{})
	hub, err := realtime.New(ctx, realtime.Config{}, bp, revocation.NewMemory(nil), log)
	if err != nil {
		return nil, nil, err
	}
	set, err := apps.New(apps.App{ID: a.ID, Key: a.Key, Secret: a.Secret})
	if err != nil {
		_ = hub.Close()
		return nil, nil, err
	}
	srv, err := pusher.New(pusher.Config{Apps: set, PublicSubscribe: func(string) bool { return true }}, hub, log)
	if err != nil {
		_ = hub.Close()
		return nil, nil, err
	}
	clientIP := func(r *http.Request) string {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		return host
	}
	h := httpx.Mux(srv.Routes(), clientIP)
	closeAll := func() {
		_ = srv.Close()
		_ = hub.Close()
		_ = bp.Close()
	}
	return h, closeAll, nil
}
