package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"gatehouse/config"
	"gatehouse/issuer"
	"gatehouse/policy"
)

func TestDevAppKeptUnderDataDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", devAppFile)
	first, err := loadOrCreateDevApp(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("stat: %v %v, want 0600", err, st.Mode())
	}
	again, err := loadOrCreateDevApp(path)
	if err != nil || again != first {
		t.Fatalf("second load %+v %v, want %+v", again, err, first)
	}
	if len(first.Key) < 16 || len(first.Secret) < 16 || first.Key == first.Secret {
		t.Fatalf("weak credentials %+v", first)
	}
	if err := os.WriteFile(path, []byte(`{"key":"short","secret":"short"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreateDevApp(path); err == nil {
		t.Fatal("short credentials accepted")
	}
}

func TestDevAppOnlyWithoutConfiguredApps(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode mode
		apps []config.App
		want bool
	}{
		{"dev without apps", modeDev, nil, true},
		{"dev with apps", modeDev, []config.App{{ID: "mine", Key: "k", Secret: "0123456789abcdef"}}, false},
		{"serve", modeServe, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{Apps: tc.apps}
			var p parts
			set, devApp, err := wireApps(env{cfg: cfg, mode: tc.mode, dataDir: t.TempDir()}, &p)
			if err != nil {
				t.Fatal(err)
			}
			if (devApp != nil) != tc.want {
				t.Fatalf("devApp = %v, want one: %v", devApp, tc.want)
			}
			if len(cfg.Apps) != len(tc.apps) {
				t.Fatalf("the config's apps changed: %v", cfg.Apps)
			}
			if !tc.want {
				if set.Len() != len(tc.apps) || len(p.banner) != 0 {
					t.Fatalf("apps %v banner %v", set.All(), p.banner)
				}
				return
			}
			if set.Len() != 1 || set.ByID(devAppID) != devApp || !devApp.ClientEvents {
				t.Fatalf("apps %+v", set.All())
			}
			want := "app dev     key=" + devApp.Key + " secret=" + devApp.Secret
			if len(p.banner) != 1 || p.banner[0] != want {
				t.Fatalf("banner %q, want %q", p.banner, want)
			}
		})
	}
}

func TestBackplaneNames(t *testing.T) {
	e := env{cfg: &config.Config{Realtime: config.Realtime{Backplane: "memory"}}}
	if bp, err := newBackplane(context.Background(), e, &parts{}); err != nil {
		t.Fatal(err)
	} else {
		_ = bp.Close()
	}
	for name, want := range map[string]string{"etcd": `unknown "etcd"`} {
		e.cfg.Realtime.Backplane = name
		_, err := newBackplane(context.Background(), e, &parts{})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "realtime.backplane") {
			t.Errorf("%s: %v, want an error naming realtime.backplane with %q", name, err, want)
		}
		// Without apps no backplane is built, but its name is still checked.
		if err := checkBackplaneName(name); err == nil {
			t.Errorf("%s: accepted without apps", name)
		}
	}
}

// devServer builds the whole `gatehouse dev` server on a free port.
func devServer(t *testing.T) (*server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg, err := loadServerConfig("", modeDev, ln.Addr().String(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := build(ctx, env{cfg: cfg, mode: modeDev, dataDir: dir, log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		_ = s.closeAll(context.Background())
	})
	return s, cfg.Server.PublicURL
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestDevServerHostsRealtime(t *testing.T) {
	s, base := devServer(t)
	if s.core.devApp == nil {
		t.Fatal("no dev app")
	}
	if code, body := get(t, base+"/"); code != 200 || !strings.Contains(body, `data-app-key="`+s.core.devApp.Key+`"`) {
		t.Fatalf("chat page: %d %.200s", code, body)
	}
	_, ready := get(t, base+"/readyz")
	if strings.Contains(ready, "backplane") {
		t.Fatalf("readyz %s: backplane failing", ready)
	}
	dialDev(t, base, s.core.devApp.Key)
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{"gatehouse_connections 1", "gatehouse_subscriptions 0", "gatehouse_messages_in_total",
		"gatehouse_messages_out_total", "gatehouse_backplane_errors_total 0"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

type frame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

type devConn struct {
	net.Conn
	r        io.Reader
	socketID string
}

func (c *devConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *devConn) next(t *testing.T) frame {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, err := wsutil.ReadServerText(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func dialDev(t *testing.T, base, key string) *devConn {
	t.Helper()
	nc, br, _, err := ws.Dial(context.Background(), "ws"+strings.TrimPrefix(base, "http")+"/app/"+key+"?protocol=7")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	c := &devConn{Conn: nc, r: nc}
	if br != nil {
		c.r = br
	}
	f := c.next(t)
	var data string
	_ = json.Unmarshal(f.Data, &data)
	var est struct {
		SocketID string `json:"socket_id"`
	}
	if f.Event != "pusher:connection_established" || json.Unmarshal([]byte(data), &est) != nil {
		t.Fatalf("first frame %+v", f)
	}
	c.socketID = est.SocketID
	return c
}

// TestLogoutClosesBoundSocket: a socket authorized through /pusher/auth with
// a token carrying a sid is closed when that session is revoked.
func TestLogoutClosesBoundSocket(t *testing.T) {
	s, base := devServer(t)
	id := policy.Identity{Subject: "ada", Name: "Ada", SessionID: "sid-1"}
	tok, err := s.core.issuer.Mint("", issuer.Request{Identity: id, Grants: s.core.policy.Grants(id)})
	if err != nil {
		t.Fatal(err)
	}
	conn := dialDev(t, base, s.core.devApp.Key)
	form := url.Values{"socket_id": {conn.socketID}, "channel_name": {demoChannel}}
	req, _ := http.NewRequest("POST", base+"/pusher/auth", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+tok.Value)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var auth struct {
		Auth        string `json:"auth"`
		ChannelData string `json:"channel_data"`
	}
	err = json.NewDecoder(res.Body).Decode(&auth)
	_ = res.Body.Close()
	if res.StatusCode != 200 || err != nil {
		t.Fatalf("/pusher/auth: %d %v", res.StatusCode, err)
	}
	sub, _ := json.Marshal(map[string]any{"event": "pusher:subscribe", "data": map[string]string{
		"channel": demoChannel, "auth": auth.Auth, "channel_data": auth.ChannelData}})
	if err := wsutil.WriteClientText(conn, sub); err != nil {
		t.Fatal(err)
	}
	if f := conn.next(t); f.Event != "pusher_internal:subscription_succeeded" {
		t.Fatalf("got %+v", f)
	}
	if err := s.core.revocations.Revoke(context.Background(), "sid-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	f := conn.next(t)
	if f.Event != "pusher:error" || !strings.Contains(string(f.Data), "4009") {
		t.Fatalf("got %+v, want pusher:error 4009", f)
	}
}

// TestLogoutClosesTopicSocket: a JWT-topic socket opened with a token
// carrying a sid is closed when that session is revoked.
func TestLogoutClosesTopicSocket(t *testing.T) {
	s, base := devServer(t)
	id := policy.Identity{Subject: "ada", SessionID: "sid-2"}
	tok, err := s.core.issuer.Mint("", issuer.Request{Identity: id, Grants: s.core.policy.Grants(id)})
	if err != nil {
		t.Fatal(err)
	}
	nc, br, _, err := ws.Dial(context.Background(), "ws"+strings.TrimPrefix(base, "http")+"/apps/"+devAppID+"?access_token="+tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	c := &devConn{Conn: nc, r: nc}
	if br != nil {
		c.r = br
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	welcome, err := wsutil.ReadServerText(c)
	if err != nil || !strings.Contains(string(welcome), `"welcome"`) {
		t.Fatalf("welcome: %s %v", welcome, err)
	}
	if err := s.core.revocations.Revoke(context.Background(), "sid-2", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err = wsutil.ReadServerText(c)
	var closed wsutil.ClosedError
	if !errors.As(err, &closed) || closed.Code != 4003 {
		t.Fatalf("after revoke: %v, want close 4003", err)
	}
}
