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

// maxSessions bounds the session → client index; the oldest entries go
// first when it is full (their connections then end at their expiry or
// refresh instead of at once).
const maxSessions = 100_000

type client struct {
	user, id string
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
	retries int

	mu    sync.Mutex
	bySID map[string][]client
	order []string // sids in insertion order, for eviction
}

// NewSessions builds the index; api and key are Centrifugo's HTTP API
// endpoint and key.
func NewSessions(api, key string, log *slog.Logger) *Sessions {
	return &Sessions{api: api, key: key, http: &http.Client{Timeout: 5 * time.Second}, log: log,
		now: time.Now, retries: 5, bySID: map[string][]client{}}
}

// Add records that session sid opened Centrifugo client id as user, for
// as long as until.
func (s *Sessions) Add(sid, user, id string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.bySID[sid]; !ok {
		for len(s.order) >= maxSessions {
			delete(s.bySID, s.order[0])
			s.order = s.order[1:]
		}
		s.order = append(s.order, sid)
	}
	now := s.now()
	kept := s.bySID[sid][:0]
	for _, c := range s.bySID[sid] {
		if c.until.After(now) {
			kept = append(kept, c)
		}
	}
	s.bySID[sid] = append(kept, client{user: user, id: id, until: until})
}

// Revoked disconnects the clients of sid (a revocation.Watcher callback:
// it returns at once, the API calls run in the background).
func (s *Sessions) Revoked(sid string) {
	s.mu.Lock()
	clients := s.bySID[sid]
	delete(s.bySID, sid)
	s.mu.Unlock()
	for _, c := range clients {
		go s.disconnect(c)
	}
}

// disconnect asks Centrifugo to close one client, retrying with backoff.
func (s *Sessions) disconnect(c client) {
	body, _ := json.Marshal(map[string]any{
		"user": c.user, "client": c.id,
		"disconnect": map[string]any{"code": disconnectRevoked, "reason": "session ended"},
	})
	wait := 100 * time.Millisecond
	var err error
	for attempt := 0; attempt <= s.retries; attempt++ {
		if err = s.call(body); err == nil {
			return
		}
		time.Sleep(wait)
		wait *= 2
	}
	s.log.Warn("centrifugo: could not disconnect a revoked session's client", "user", c.user, "client", c.id, "err", err)
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
