package pusher

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"gatehouse/apps"
	"gatehouse/internal/httpx"
	"gatehouse/realtime"
	"gatehouse/realtime/wsconn"
)

// Pusher close codes (pusher:error codes) used by this server.
const (
	CodeAppNotFound      = 4001
	CodeProtocolVersion  = 4007
	CodeUnauthorized     = 4009
	CodeOverCapacity     = 4100
	CodeReconnect        = 4200
	CodePongNotReceived  = 4201
	CodeClientEventError = 4301
)

// Server serves the Pusher protocol for a set of apps on one hub.
type Server struct {
	cfg   Config
	hub   *realtime.Hub
	log   *slog.Logger
	tr    *wsconn.Transport
	apps  *apps.Set
	hooks *webhooks

	mu       sync.Mutex
	sessions map[*session]struct{}
	stop     chan struct{}
	done     chan struct{}
}

// New returns a Server for cfg.Apps on hub. It starts the activity sweeper
// and the webhook sender; Close stops them.
func New(cfg Config, hub *realtime.Hub, log *slog.Logger) (*Server, error) {
	if hub == nil {
		return nil, fmt.Errorf("pusher: nil hub")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, hub: hub, log: log,
		apps:     cfg.Apps,
		sessions: make(map[*session]struct{}),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	lim := hub.Limits()
	tr, err := wsconn.New(wsconn.Config{
		MaxMessageBytes: lim.MaxMessageBytes + 8192,
		SendQueue:       cfg.SendQueue,
		SlowCloseCode:   CodeReconnect,
		SlowCloseReason: "Client too slow, reconnect",
		Compression:     !cfg.DisableCompression,
	}, log)
	if err != nil {
		return nil, fmt.Errorf("pusher: %w", err)
	}
	s.tr = tr
	s.hooks = newWebhooks(cfg, log)
	hub.OnLifecycle(s.lifecycle)
	go s.sweep()
	return s, nil
}

// Close stops the sweeper and the webhook sender (after a last flush) and
// closes every socket of this server with 4200 so clients reconnect
// elsewhere.
func (s *Server) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	<-s.done
	s.mu.Lock()
	list := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		list = append(list, ss)
	}
	s.mu.Unlock()
	for _, ss := range list {
		ss.Disconnect(realtime.ReasonShutdown)
	}
	s.hooks.close()
	return s.tr.Close()
}

// Routes returns the server's route table: the WebSocket endpoint and the
// HTTP API. The router mounts it (handlers), or httpx.Mux in tests.
func (s *Server) Routes() []httpx.Route {
	return []httpx.Route{
		{Method: http.MethodGet, Pattern: "/app/{key}", Upgrade: true, Handler: func(w http.ResponseWriter, r *http.Request, ip string) {
			s.ServeWebSocket(w, r, r.PathValue("key"), ip)
		}},
		{Method: http.MethodPost, Pattern: "/apps/{id}/events", Handler: func(w http.ResponseWriter, r *http.Request, ip string) {
			s.ServeEvents(w, r, r.PathValue("id"), ip)
		}},
		{Method: http.MethodPost, Pattern: "/apps/{id}/batch_events", Handler: func(w http.ResponseWriter, r *http.Request, ip string) {
			s.ServeBatchEvents(w, r, r.PathValue("id"), ip)
		}},
		{Method: http.MethodGet, Pattern: "/apps/{id}/channels", Handler: func(w http.ResponseWriter, r *http.Request, ip string) {
			s.ServeChannels(w, r, r.PathValue("id"), ip)
		}},
		{Method: http.MethodGet, Pattern: "/apps/{id}/channels/{name}", Handler: func(w http.ResponseWriter, r *http.Request, ip string) {
			s.ServeChannel(w, r, r.PathValue("id"), r.PathValue("name"), ip)
		}},
		{Method: http.MethodGet, Pattern: "/apps/{id}/channels/{name}/history", Handler: func(w http.ResponseWriter, r *http.Request, ip string) {
			s.ServeChannelHistory(w, r, r.PathValue("id"), r.PathValue("name"), ip)
		}},
		{Method: http.MethodGet, Pattern: "/apps/{id}/channels/{name}/users", Handler: func(w http.ResponseWriter, r *http.Request, ip string) {
			s.ServeChannelUsers(w, r, r.PathValue("id"), r.PathValue("name"), ip)
		}},
		{Method: http.MethodPost, Pattern: "/apps/{id}/users/{uid}/terminate_connections", Handler: func(w http.ResponseWriter, r *http.Request, ip string) {
			s.ServeTerminateUser(w, r, r.PathValue("id"), r.PathValue("uid"), ip)
		}},
	}
}

// BindSession records that login session sid authorised socket socketID of
// app appID for channel, on whichever node holds the socket; once the socket
// subscribes there, revoking sid closes it (README, "Logging people in").
// /pusher/auth calls it after signing. See realtime.Hub.BindSession for why
// the first session to authorise a socket owns it.
func (s *Server) BindSession(ctx context.Context, appID, socketID, channel, sid string) error {
	return s.hub.BindSession(ctx, appID, socketID, channel, sid)
}

func (s *Server) track(ss *session, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.sessions[ss] = struct{}{}
	} else {
		delete(s.sessions, ss)
	}
}

// sweep pings idle clients and closes those that do not answer.
func (s *Server) sweep() {
	defer close(s.done)
	every := s.cfg.ActivityTimeout / 4
	if p := s.cfg.PongTimeout / 2; p < every {
		every = p
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		s.mu.Lock()
		list := make([]*session, 0, len(s.sessions))
		for ss := range s.sessions {
			list = append(list, ss)
		}
		s.mu.Unlock()
		for i, ss := range list {
			ss.checkActivity(now)
			realtime.YieldEvery(i)
		}
	}
}

func (s *Server) lifecycle(ctx context.Context, ev realtime.Lifecycle) {
	a := s.apps.ByID(ev.App)
	if a == nil {
		return
	}
	s.hooks.add(a, hookEvent{Name: string(ev.Kind), Channel: ev.Channel, UserID: ev.UserID})
}
