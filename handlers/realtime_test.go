package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"gatehouse/apps"
	"gatehouse/internal/httpx"
	"gatehouse/pusherproto"
	"gatehouse/realtime"
	"gatehouse/realtime/memory"
	"gatehouse/realtime/pusher"
	"gatehouse/revocation"
)

const (
	rtAppID  = "app1"
	rtKey    = "278d425bdf160c739803"
	rtSecret = "7ad3773142a6692b25b8"
)

// fakeTopics records what the topic routes were called with.
type fakeTopics struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeTopics) record(kind, appID, ip string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, kind+" "+appID+" "+ip)
}

// Routes is a route table shaped like the topic server's.
func (f *fakeTopics) Routes() []httpx.Route {
	return []httpx.Route{
		{Method: "GET", Pattern: "/apps/{id}", Upgrade: true, Handler: func(w http.ResponseWriter, r *http.Request, ip string) {
			f.record("ws", r.PathValue("id"), ip)
			w.WriteHeader(http.StatusTeapot)
		}},
		{Method: "POST", Pattern: "/api/topics/{id}/publish", Handler: func(w http.ResponseWriter, r *http.Request, ip string) {
			f.record("publish", r.PathValue("id"), ip)
			w.WriteHeader(http.StatusTeapot)
		}},
	}
}

type rtServer struct {
	*httptest.Server
	metrics *Metrics
	topics  *fakeTopics
}

// newRealtimeServer runs the real Pusher server behind the full router.
func newRealtimeServer(t *testing.T, app apps.App, proxies []string) *rtServer {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	bp := memory.New(memory.Config{})
	hub, err := realtime.New(context.Background(), realtime.Config{}, bp, revocation.NewMemory(nil), log)
	if err != nil {
		t.Fatal(err)
	}
	set, err := apps.New(app)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := pusher.New(pusher.Config{Apps: set, PublicSubscribe: func(string) bool { return true }}, hub, log)
	if err != nil {
		t.Fatal(err)
	}
	topics := &fakeTopics{}
	m := NewMetrics()
	h, err := NewRouter(ServerConfig{TrustedProxies: proxies}, m, log, Routes(ps.Routes()), Routes(topics.Routes()))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		_ = ps.Close()
		_ = hub.Close()
		_ = bp.Close()
	})
	return &rtServer{Server: srv, metrics: m, topics: topics}
}

func testApp() apps.App {
	return apps.App{ID: rtAppID, Key: rtKey, Secret: rtSecret, ClientEvents: true}
}

// pusherFrame is a Pusher protocol frame as the server sends it.
type pusherFrame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

// dialPusher opens a socket to /app/{key} and returns it with the first
// frame the server sent.
func dialPusher(t *testing.T, base, key string, hdr http.Header) (net.Conn, pusherFrame) {
	t.Helper()
	d := ws.Dialer{Timeout: 5 * time.Second}
	if hdr != nil {
		d.Header = ws.HandshakeHeaderHTTP(hdr)
	}
	conn, br, _, err := d.Dial(context.Background(), "ws"+strings.TrimPrefix(base, "http")+"/app/"+key+"?protocol=7&client=js&version=8.4.0")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if br != nil {
		// Frames that came with the handshake answer wait in br.
		conn = bufferedConn{Conn: conn, r: br}
	}
	return conn, readFrame(t, conn)
}

// bufferedConn reads what the dialer buffered before the connection.
type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func readFrame(t *testing.T, conn net.Conn) pusherFrame {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := wsutil.ReadServerText(conn)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var f pusherFrame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame %q: %v", b, err)
	}
	return f
}

func TestRealtimeWebSocketThroughMiddleware(t *testing.T) {
	s := newRealtimeServer(t, testApp(), nil)
	conn, f := dialPusher(t, s.URL, rtKey, nil)
	if f.Event != "pusher:connection_established" {
		t.Fatalf("first frame %+v, want pusher:connection_established", f)
	}
	var data string
	if err := json.Unmarshal(f.Data, &data); err != nil {
		t.Fatalf("data is not a JSON string: %s", f.Data)
	}
	if !strings.Contains(data, `"socket_id"`) {
		t.Fatalf("data %q has no socket_id", data)
	}
	// The socket still works after the middleware ran: ping, pong.
	if err := wsutil.WriteClientText(conn, []byte(`{"event":"pusher:ping","data":{}}`)); err != nil {
		t.Fatal(err)
	}
	if f := readFrame(t, conn); f.Event != "pusher:pong" {
		t.Fatalf("got %+v, want pusher:pong", f)
	}
	if got := requestCount(t, s.metrics, "/app/:key", "101"); got != 1 {
		t.Fatalf("requests{route=/app/:key,status=101} = %v, want 1", got)
	}
}

// requestCount reads gatehouse_http_requests_total{route, status}.
func requestCount(t *testing.T, m *Metrics, route, status string) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gatehouse_http_requests_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["status"] == status {
				return mt.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestRealtimeUnknownKeyRefusedInBand(t *testing.T) {
	s := newRealtimeServer(t, testApp(), nil)
	_, f := dialPusher(t, s.URL, "nosuchkey", nil)
	if f.Event != "pusher:error" || !strings.Contains(string(f.Data), "4001") {
		t.Fatalf("got %+v, want pusher:error 4001", f)
	}
}

func TestRealtimePlainGETIsNotUpgraded(t *testing.T) {
	s := newRealtimeServer(t, testApp(), nil)
	res, err := http.Get(s.URL + "/app/" + rtKey)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", res.StatusCode)
	}
	if got := requestCount(t, s.metrics, "/app/:key", "400"); got != 1 {
		t.Fatalf("requests{status=400} = %v, want 1", got)
	}
}

func TestRealtimeClientIP(t *testing.T) {
	app := testApp()
	app.ClientSourceAddress = []string{"10.1.2.3"}
	xff := http.Header{"X-Forwarded-For": {"10.1.2.3"}}
	for _, tc := range []struct {
		name    string
		proxies []string
		hdr     http.Header
		want    string
	}{
		{"trusted proxy forwards an allowed address", []string{"127.0.0.1/32"}, xff, "pusher:connection_established"},
		{"no trusted proxy: X-Forwarded-For ignored", nil, xff, "pusher:error"},
		{"trusted proxy, direct caller not allowed", []string{"127.0.0.1/32"}, nil, "pusher:error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRealtimeServer(t, app, tc.proxies)
			_, f := dialPusher(t, s.URL, rtKey, tc.hdr)
			if f.Event != tc.want {
				t.Fatalf("got %+v, want %s", f, tc.want)
			}
		})
	}
}

// signed returns path?query signed for the test app.
func signed(method, path, secret string, body []byte, extra url.Values) string {
	q := pusherproto.SignedQuery(rtKey, secret, method, path, extra, body, time.Now())
	return path + "?" + q.Encode()
}

func TestRealtimeHTTPAPIRoutes(t *testing.T) {
	s := newRealtimeServer(t, testApp(), nil)
	event := []byte(`{"name":"greet","channel":"public-a","data":"{\"hi\":1}"}`)
	batch := []byte(`{"batch":[{"name":"greet","channel":"public-a","data":"x"}]}`)
	big := []byte(`{"name":"greet","channel":"public-a","data":"` + strings.Repeat("x", httpx.MaxBodyBytes) + `"}`)
	for _, tc := range []struct {
		name   string
		method string
		path   string
		secret string
		body   []byte
		want   int
	}{
		{"events", "POST", "/apps/app1/events", rtSecret, event, 200},
		{"batch events", "POST", "/apps/app1/batch_events", rtSecret, batch, 200},
		{"channels", "GET", "/apps/app1/channels", rtSecret, nil, 200},
		{"channel", "GET", "/apps/app1/channels/public-a", rtSecret, nil, 200},
		{"channel users", "GET", "/apps/app1/channels/presence-a/users", rtSecret, nil, 200},
		{"terminate", "POST", "/apps/app1/users/42/terminate_connections", rtSecret, []byte(`{}`), 200},
		{"wrong secret", "POST", "/apps/app1/events", "not-the-secret", event, 401},
		{"unknown app", "GET", "/apps/nope/channels", rtSecret, nil, 404},
		{"body over 64 KiB", "POST", "/apps/app1/events", rtSecret, big, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != nil {
				body = strings.NewReader(string(tc.body))
			}
			req, _ := http.NewRequest(tc.method, s.URL+signed(tc.method, tc.path, tc.secret, tc.body, nil), body)
			if tc.body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != tc.want {
				t.Fatalf("status %d (%s), want %d", res.StatusCode, b, tc.want)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control %q, want no-store", cc)
			}
		})
	}
}

func TestRealtimeTopicRoutes(t *testing.T) {
	s := newRealtimeServer(t, testApp(), nil)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/apps/app1?access_token=x"},
		{"POST", "/api/topics/app1/publish"},
	} {
		req, _ := http.NewRequest(tc.method, s.URL+tc.path, strings.NewReader(""))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusTeapot {
			t.Fatalf("%s %s: status %d, want the topics server's 418", tc.method, tc.path, res.StatusCode)
		}
	}
	want := []string{"ws app1 127.0.0.1", "publish app1 127.0.0.1"}
	s.topics.mu.Lock()
	defer s.topics.mu.Unlock()
	if strings.Join(s.topics.calls, "|") != strings.Join(want, "|") {
		t.Fatalf("calls %q, want %q", s.topics.calls, want)
	}
}

func TestGinPath(t *testing.T) {
	for pattern, want := range map[string]string{
		"/app/{key}":                       "/app/:key [key]",
		"/apps/{id}/channels/{name}/users": "/apps/:id/channels/:name/users [id name]",
		"/pusher/auth":                     "/pusher/auth []",
		"/dev-idp/{path...}":               "/dev-idp/*path [path]",
	} {
		path, names := ginPath(pattern)
		if got := path + " " + fmt.Sprint(names); got != want {
			t.Errorf("ginPath(%q) = %s, want %s", pattern, got, want)
		}
	}
}
