package topics

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"gatehouse/internal/httpx"
	"gatehouse/realtime"
	"gatehouse/realtime/wsconn"
)

// Close codes this server ends connections with. Codes of the transport
// itself (1002 protocol error, 1009 message too big) come from wsconn.
const (
	// CodeGoingAway: the server is shutting down; reconnect.
	CodeGoingAway = 1001
	// CodeTryAgain: over capacity, or the client read too slowly; reconnect
	// later.
	CodeTryAgain = 1013
	// CodeTokenExpired: the access token expired and no refresh came.
	CodeTokenExpired = 4001
	// CodePongTimeout: the client did not answer a ping.
	CodePongTimeout = 4002
	// CodeRevoked: the login session of the token was revoked.
	CodeRevoked = 4003
	// CodeTerminated: the app terminated the user's connections.
	CodeTerminated = 4004
)

// Server serves the JWT-topic protocol for a set of apps on one hub.
type Server struct {
	cfg    Config
	hub    *realtime.Hub
	verify TokenVerifier
	log    *slog.Logger
	tr     *wsconn.Transport
	rate   int

	mu       sync.Mutex
	sessions map[*session]struct{}
	stop     chan struct{}
	done     chan struct{}
}

// New returns a Server for cfg.Apps on hub, checking tokens with verifier.
// It starts the ping sweeper; Close stops it.
func New(cfg Config, hub *realtime.Hub, verifier TokenVerifier, log *slog.Logger) (*Server, error) {
	if hub == nil {
		return nil, errors.New("topics: nil hub")
	}
	if verifier == nil {
		return nil, errors.New("topics: nil token verifier")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	lim := hub.Limits()
	s := &Server{
		cfg: cfg, hub: hub, verify: verifier, log: log,
		rate:     cfg.PublishesPerSecond,
		sessions: make(map[*session]struct{}),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if s.rate == 0 {
		s.rate = lim.ClientEventsPerSecond
	}
	tr, err := wsconn.New(wsconn.Config{
		// Room for the frame around a payload of the hub's limit; payloads
		// over the limit get an error frame, frames over this close 1009.
		MaxMessageBytes: lim.MaxMessageBytes + 8192,
		SendQueue:       cfg.SendQueue,
		SlowCloseCode:   CodeTryAgain,
		SlowCloseReason: realtime.ReasonSlow.String(),
		Compression:     !cfg.DisableCompression,
	}, log)
	if err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	s.tr = tr
	go s.sweep()
	return s, nil
}

// Close stops the ping sweeper and closes every socket of this server with
// CodeGoingAway, so clients reconnect elsewhere.
func (s *Server) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	<-s.done
	for _, ss := range s.list() {
		ss.Disconnect(realtime.ReasonShutdown)
	}
	return s.tr.Close()
}

// Routes returns the server's route table: GET /apps/{id} (the WebSocket)
// and POST /api/topics/{id}/publish. The router mounts it (handlers), or
// httpx.Mux in tests.
func (s *Server) Routes() []httpx.Route {
	return []httpx.Route{
		{Method: http.MethodGet, Pattern: "/apps/{id}", Upgrade: true, Handler: func(w http.ResponseWriter, r *http.Request, ip string) {
			s.ServeWebSocket(w, r, r.PathValue("id"), ip)
		}},
		{Method: http.MethodPost, Pattern: "/api/topics/{id}/publish", Handler: func(w http.ResponseWriter, r *http.Request, ip string) {
			s.ServeAdminPublish(w, r, r.PathValue("id"), ip)
		}},
	}
}

// Len returns the number of open topic connections of this server.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
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

func (s *Server) list() []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		out = append(out, ss)
	}
	return out
}

// sweep pings silent clients and closes those that stay silent. It reads
// the transport's own clock of last reads, so it runs on real time.
func (s *Server) sweep() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.PingInterval / 2)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			for i, ss := range s.list() {
				ss.checkActivity(now)
				realtime.YieldEvery(i)
			}
		}
	}
}
