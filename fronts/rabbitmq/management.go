package rabbitmq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Management closes connections through RabbitMQ's management API.
type Management struct {
	base, user, pass string
	http             *http.Client
	log              *slog.Logger
}

// NewManagement returns a client for the management API at base (e.g.
// http://rabbitmq:15672) with an administrator's credentials.
func NewManagement(base, user, pass string, log *slog.Logger) *Management {
	return &Management{base: base, user: user, pass: pass, http: &http.Client{Timeout: 5 * time.Second}, log: log}
}

// Revoked forgets the users session sid verified, so every later check of
// theirs is denied, and with a management API closes their connections in
// the background (retried, never blocking the logout).
func (b *Backend) Revoked(sid string, m *Management) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	names, err := b.users.DropSession(ctx, sid)
	if err != nil {
		b.log.Warn("rabbitmq: could not drop a revoked session's users", "err", err)
	}
	if m == nil || len(names) == 0 {
		return
	}
	b.log.Info("rabbitmq: closing the connections of a revoked session", "users", names)
	go func() {
		wait := 250 * time.Millisecond
		for attempt := 0; attempt < 6; attempt++ {
			err := m.closeUsers(names)
			if err == nil {
				return
			}
			m.log.Info("rabbitmq: closing connections failed; retrying", "attempt", attempt+1, "err", err)
			if attempt == 5 {
				m.log.Warn("rabbitmq: could not close a revoked session's connections", "users", names, "err", err)
			}
			time.Sleep(wait)
			wait *= 2
		}
	}()
}

// errNoneListed: the management API lists connections only after its
// next statistics round (collect_statistics_interval), so a connection
// made just before the logout may not be listed yet; it is asked again.
var errNoneListed = errors.New("rabbitmq management: no connection of these users listed yet")

func (m *Management) closeUsers(names []string) error {
	closed := 0
	for _, name := range names {
		conns, err := m.connections(name)
		if err != nil {
			return err
		}
		closed += len(conns)
		for _, c := range conns {
			if err := m.close(c); err != nil {
				return err
			}
		}
	}
	if closed == 0 {
		return errNoneListed
	}
	return nil
}

func (m *Management) do(method, path string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, m.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(m.user, m.pass)
	req.Header.Set("X-Reason", "session ended")
	res, err := m.http.Do(req)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// connections lists the connection names of user.
func (m *Management) connections(user string) ([]string, error) {
	res, err := m.do(http.MethodGet, "/api/connections?columns=name,user")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("rabbitmq management: list connections: %s", res.Status)
	}
	var all []struct {
		Name string `json:"name"`
		User string `json:"user"`
	}
	if err := json.NewDecoder(res.Body).Decode(&all); err != nil {
		return nil, fmt.Errorf("rabbitmq management: %w", err)
	}
	var out []string
	for _, c := range all {
		if c.User == user {
			out = append(out, c.Name)
		}
	}
	return out, nil
}

func (m *Management) close(name string) error {
	res, err := m.do(http.MethodDelete, "/api/connections/"+url.PathEscape(name))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusNoContent && res.StatusCode != http.StatusNotFound {
		return fmt.Errorf("rabbitmq management: close %s: %s", name, res.Status)
	}
	return nil
}
