package topics_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/realtime"
	"gatehouse/realtime/internal/wstest"
	"gatehouse/realtime/topics"
)

func TestHandshakeRefusals(t *testing.T) {
	tests := []struct {
		name   string
		path   func(e *env) string
		header func(e *env) http.Header
		status int
		error  string
	}{
		{name: "no token", path: func(e *env) string { return "/apps/" + appID }, status: 401, error: "invalid_token"},
		{name: "garbage token", path: func(e *env) string { return "/apps/" + appID + "?access_token=abc.def.ghi" }, status: 401, error: "invalid_token"},
		{name: "token of another issuer", path: func(e *env) string {
			other := newEnv(e.t, envOpts{})
			return "/apps/" + appID + "?access_token=" + other.mint("x", "", 0, sub("*"))
		}, status: 401, error: "invalid_token"},
		{name: "expired inside the verifier's leeway", path: func(e *env) string {
			tok := e.mint("late", "", time.Minute, sub("*"))
			e.clock.Advance(time.Minute + time.Second)
			return "/apps/" + appID + "?access_token=" + tok
		}, status: 401, error: "invalid_token"},
		{name: "expired", path: func(e *env) string {
			tok := e.mint("late", "", time.Minute, sub("*"))
			e.clock.Advance(time.Hour)
			return "/apps/" + appID + "?access_token=" + tok
		}, status: 401, error: "invalid_token"},
		{name: "revoked session", path: func(e *env) string {
			tok := e.mint("gone", "sid-1", 0, sub("*"))
			e.revoke("sid-1")
			return "/apps/" + appID + "?access_token=" + tok
		}, status: 401, error: "invalid_token"},
		{name: "unknown app", path: func(e *env) string {
			return "/apps/nope?access_token=" + e.mint("x", "", 0, sub("*"))
		}, status: 404, error: "invalid_request"},
		{name: "bearer header accepted", path: func(e *env) string { return "/apps/" + appID },
			header: func(e *env) http.Header {
				return http.Header{"Authorization": {"Bearer " + e.mint("x", "", 0, sub("*"))}}
			}, status: 400}, // past the token check; a plain GET is no upgrade
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			req, _ := http.NewRequest("GET", e.ts.URL+tt.path(e), nil)
			if tt.header != nil {
				req.Header = tt.header(e)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, body, tt.status)
			}
			if tt.error == "" {
				return
			}
			var out map[string]string
			if err := json.Unmarshal(body, &out); err != nil || out["error"] != tt.error || out["error_description"] == "" {
				t.Fatalf("body %s", body)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatal("no Cache-Control: no-store")
			}
		})
	}
}

func TestRefusedHandshakeIsNoUpgrade(t *testing.T) {
	e := newEnv(t, envOpts{})
	_, err := wstest.DialErr(e.wsURL("not-a-token"), wstest.Options{})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("dial: %v, want a 401 refusal", err)
	}
}

func TestBearerHeaderConnects(t *testing.T) {
	e := newEnv(t, envOpts{})
	h := http.Header{"Authorization": {"Bearer " + e.mint("hdr", "", 0, sub("chat"))}}
	c := e.connect(t, "", wstest.Options{Header: h})
	if len(c.perm) != 1 {
		t.Fatalf("permissions %v", c.perm)
	}
}

func TestOverCapacity(t *testing.T) {
	e := newEnv(t, envOpts{limits: realtime.Limits{MaxConnections: 1}})
	e.user(t, "first", sub("chat"))
	u := "http" + strings.TrimPrefix(e.wsURL(e.mint("second", "", 0, sub("chat"))), "ws")
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
}

func TestTokenExpiryCloses(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.connect(t, e.mint("brief", "", time.Minute, sub("chat")), wstest.Options{})
	c.subscribed("chat")
	e.clock.Advance(59 * time.Second)
	c.sync() // still open
	e.clock.Advance(time.Second)
	code, reason, before := c.ExpectClose(t)
	if code != topics.CodeTokenExpired || reason != "token expired" {
		t.Fatalf("close %d %q", code, reason)
	}
	if len(before) != 1 || !strings.Contains(before[0], `"code":"token_expired"`) {
		t.Fatalf("frames before close: %q", before)
	}
}

func TestRefreshExtends(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.connect(t, e.mint("ada", "sid-7", time.Minute, sub("chat"), sub("news")), wstest.Options{})
	c.subscribed("chat")
	c.subscribed("news")
	e.clock.Advance(50 * time.Second)

	// The new token keeps chat, drops news and adds publishing.
	c.send("refresh", map[string]any{"access_token": e.mint("ada", "sid-7", time.Minute, sub("chat"), pub("chat")), "id": "r1"})
	if d := c.expectError("subscription_revoked"); d.Topic != "news" {
		t.Fatalf("error %+v", d)
	}
	m := c.expect("main", "refreshed")
	var d struct {
		Connection struct {
			Permissions []string `json:"permissions"`
		} `json:"connection"`
		ExpiresAt int64 `json:"expiresAt"`
	}
	if err := json.Unmarshal(m.Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.ExpiresAt != e.clock.Now().Add(time.Minute).Unix() || len(d.Connection.Permissions) != 2 {
		t.Fatalf("refreshed %s", m.Data)
	}
	c.expectAck("r1")

	// Past the first token's exp the connection lives, with the new grants.
	e.clock.Advance(30 * time.Second)
	c.publish("chat", "hello", "now allowed", "p1")
	got := map[string]bool{}
	for range 2 {
		m := c.next()
		got[m.Topic+"."+m.MessageType] = true
	}
	if !got["priv/acks.ack"] || !got["chat.hello"] {
		t.Fatalf("got %v", got)
	}
	c.send("subscribe", map[string]any{"topic": "news"})
	c.expectError("forbidden")

	// The second token expires in turn.
	e.clock.Advance(30 * time.Second)
	if code, _, _ := c.ExpectClose(t); code != topics.CodeTokenExpired {
		t.Fatalf("close %d", code)
	}
}

func TestRefreshRefused(t *testing.T) {
	tests := []struct {
		name  string
		token func(e *env) string
	}{
		{"another subject", func(e *env) string { return e.mint("mallory", "sid-1", time.Hour, sub("*")) }},
		{"another session", func(e *env) string { return e.mint("ada", "sid-2", time.Hour, sub("*")) }},
		{"no session", func(e *env) string { return e.mint("ada", "", time.Hour, sub("*")) }},
		{"not a token", func(e *env) string { return "nope" }},
		{"already expired", func(e *env) string {
			tok := e.mint("ada", "sid-1", 10*time.Second, sub("*"))
			e.clock.Advance(20 * time.Second)
			return tok
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			c := e.connect(t, e.mint("ada", "sid-1", time.Minute, sub("chat")), wstest.Options{})
			c.send("refresh", map[string]any{"access_token": tt.token(e), "id": "r"})
			if d := c.expectError("invalid_token"); d.ID != "r" {
				t.Fatalf("error %+v", d)
			}
			// The old grants stand, and so does the old expiry.
			c.send("subscribe", map[string]any{"topic": "news"})
			c.expectError("forbidden")
			e.clock.Advance(time.Minute)
			if code, _, _ := c.ExpectClose(t); code != topics.CodeTokenExpired {
				t.Fatalf("close %d", code)
			}
		})
	}
}

func TestRevocationCloses(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.connect(t, e.mint("ada", "sid-9", 0, sub("chat")), wstest.Options{})
	other := e.connect(t, e.mint("ada", "sid-10", 0, sub("chat")), wstest.Options{})
	e.revoke("sid-9")
	if code, reason, _ := c.ExpectClose(t); code != topics.CodeRevoked || reason != "session revoked" {
		t.Fatalf("close %d %q", code, reason)
	}
	other.sync() // another session of the same user stays
}

func TestTerminateUserCloses(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.user(t, "auth0|42", sub("chat"))
	if err := e.hub.TerminateUser(context.Background(), appID, "auth0|42"); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := c.ExpectClose(t); code != topics.CodeTerminated {
		t.Fatalf("close %d", code)
	}
}

func TestShutdownCloses(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.user(t, "ada", sub("chat"))
	if err := e.topics.Close(); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := c.ExpectClose(t); code != topics.CodeGoingAway {
		t.Fatalf("close %d", code)
	}
}

func TestSilentClientIsPingedThenClosed(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *topics.Config) { c.PingInterval = 40 * time.Millisecond }})
	c := e.user(t, "quiet", sub("chat"))
	// Read raw frames, so no pong goes back (wstest answers pings).
	var sawPing bool
	for {
		_ = c.Conn.SetReadDeadline(time.Now().Add(wstest.Wait))
		f, err := wsReadFrame(c)
		if err != nil {
			t.Fatalf("read: %v (ping seen: %v)", err, sawPing)
		}
		if f.op == 0x9 {
			sawPing = true
			continue
		}
		if f.op == 0x8 {
			if !sawPing || f.code != topics.CodePongTimeout {
				t.Fatalf("close %d, ping seen %v", f.code, sawPing)
			}
			return
		}
	}
}

func TestAnsweringClientStaysOpen(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *topics.Config) { c.PingInterval = 20 * time.Millisecond }})
	c := e.user(t, "chatty", sub("chat"))
	// wstest answers each ping as it reads it; after several ping rounds
	// the connection still serves frames.
	for pings := 0; pings < 4; {
		m, err := c.Read()
		if err != nil {
			t.Fatal(err)
		}
		if m.Op != 0x9 {
			t.Fatalf("got op %v code %d", m.Op, m.Code)
		}
		pings++
	}
	c.sync()
}
