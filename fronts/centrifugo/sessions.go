package centrifugo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Bounds of the session → client index. Past them the oldest entries go
// first; their connections then end at their next refresh instead of at
// once (refresh_interval), so a bound costs promptness, never access.
const (
	// maxClients bounds the clients remembered over all sessions.
	maxClients = 100_000
	// maxClientsPerSession bounds one session's clients, so one login
	// that opens connection after connection cannot fill the index.
	maxClientsPerSession = 64
)

// settle is how long after its connect answer a client may still be
// unknown to Centrifugo (the answer travels back, Centrifugo registers the
// client). A client revoked that young is disconnected once more after
// settle, in case the first call arrived before it was registered.
const settle = time.Second

type client struct {
	user, id string
	added    time.Time
	until    time.Time
}

// Sessions remembers which Centrifugo clients each login session opened
// (filled by the connect proxy) and, when a session is revoked, asks
// Centrifugo's server API to disconnect them: retried in the background,
// never blocking the logout. Every node keeps its own index: the node that
// answered the connect is the one that disconnects.
type Sessions struct {
	api     string // Centrifugo's HTTP API base, e.g. http://centrifugo:8000/api
	key     string
	http    *http.Client
	log     *slog.Logger
	now     func() time.Time
	sleep   func(time.Duration)
	retries int

	mu    sync.Mutex
	bySID map[string][]client
	order []string // sids in insertion order, for eviction; may hold removed ones
	total int      // clients over all sids
}

// NewSessions builds the index; api and key are Centrifugo's HTTP API
// endpoint and key.
func NewSessions(api, key string, log *slog.Logger) *Sessions {
	return &Sessions{api: api, key: key, http: &http.Client{Timeout: 5 * time.Second}, log: log,
		now: time.Now, sleep: time.Sleep, retries: 5, bySID: map[string][]client{}}
}

// Add records that session sid opened Centrifugo client id as user, for
// as long as until.
func (s *Sessions) Add(sid, user, id string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	cs, inOrder := s.bySID[sid]
	delete(s.bySID, sid)
	s.total -= len(cs)
	kept := cs[:0]
	for _, c := range cs {
		if c.until.After(now) && c.id != id {
			kept = append(kept, c)
		}
	}
	if n := len(kept) - (maxClientsPerSession - 1); n > 0 {
		kept = append(kept[:0], kept[n:]...)
	}
	for len(s.order) > 0 && (s.total+len(kept) >= maxClients || (!inOrder && len(s.order) >= maxClients)) {
		if s.evictOldest() == sid {
			inOrder = false
		}
	}
	if !inOrder {
		s.order = append(s.order, sid)
	}
	s.bySID[sid] = append(kept, client{user: user, id: id, added: now, until: until})
	s.total += len(kept) + 1
}

// evictOldest forgets the session recorded first and returns its id.
// Callers hold mu.
func (s *Sessions) evictOldest() string {
	sid := s.order[0]
	s.order = s.order[1:]
	s.total -= len(s.bySID[sid])
	delete(s.bySID, sid)
	return sid
}

// remove forgets one client of sid (a connect refused after all).
func (s *Sessions) remove(sid, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.bySID[sid]
	for i, c := range cs {
		if c.id == id {
			s.bySID[sid] = append(cs[:i:i], cs[i+1:]...)
			s.total--
			return
		}
	}
}

// len reports the clients remembered (for tests).
func (s *Sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Revoked disconnects the clients of sid (a revocation.Watcher callback:
// it returns at once, the API calls run in the background).
func (s *Sessions) Revoked(sid string) {
	s.mu.Lock()
	clients := s.bySID[sid]
	delete(s.bySID, sid)
	s.total -= len(clients)
	now := s.now()
	s.mu.Unlock()
	for _, c := range clients {
		go s.disconnect(c, now.Sub(c.added) < settle)
	}
}

// disconnect asks Centrifugo to close one client, retrying with backoff;
// young (see settle) asks once more after settle.
func (s *Sessions) disconnect(c client, young bool) {
	body, _ := json.Marshal(map[string]any{
		"user": c.user, "client": c.id,
		"disconnect": map[string]any{"code": disconnectRevoked, "reason": "session ended"},
	})
	wait := 100 * time.Millisecond
	var err error
	for attempt := 0; attempt <= s.retries; attempt++ {
		if err = s.call(body); err == nil {
			break
		}
		s.sleep(wait)
		wait *= 2
	}
	if err != nil {
		s.log.Warn("centrifugo: could not disconnect a revoked session's client", "user", c.user, "client", c.id, "err", err)
		return
	}
	if young {
		s.sleep(settle)
		if err := s.call(body); err != nil {
			s.log.Warn("centrifugo: could not disconnect a revoked session's new client", "user", c.user, "client", c.id, "err", err)
		}
	}
}

func (s *Sessions) call(body []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.api+"/disconnect", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", s.key)
	res, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var out struct {
		Error *protoError `json:"error"`
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("centrifugo api: %s", res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return fmt.Errorf("centrifugo api: %w", err)
	}
	if out.Error != nil {
		return errors.New("centrifugo api: " + out.Error.Message)
	}
	return nil
}
