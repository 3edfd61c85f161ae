package pusher_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/apps"
	"gatehouse/internal/httpx"
	"gatehouse/pusherproto"
	"gatehouse/realtime"
	"gatehouse/realtime/internal/wstest"
	"gatehouse/realtime/memory"
	"gatehouse/realtime/pusher"
	"gatehouse/revocation"
)

const (
	appID     = "chat"
	appKey    = "278d425bdf160c739803"
	appSecret = "7ad3773142a6692b25b8"
)

type env struct {
	t    *testing.T
	revs *revocation.Memory
	hub  *realtime.Hub
	srv  *pusher.Server
	ts   *httptest.Server
}

type envOpts struct {
	// app changes the one app before apps.New; cfg the rest of the config.
	app    func(*apps.App)
	cfg    func(*pusher.Config)
	limits realtime.Limits
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	revs := revocation.NewMemory(nil)
	hub, err := realtime.New(context.Background(), realtime.Config{Limits: o.limits}, memory.New(memory.Config{}), revs, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := apps.App{ID: appID, Key: appKey, Secret: appSecret, ClientEvents: true}
	if o.app != nil {
		o.app(&a)
	}
	set, err := apps.New(a)
	if err != nil {
		t.Fatal(err)
	}
	// Public channels: open but for restricted-* (what a policy would
	// keep from anonymous callers).
	cfg := pusher.Config{Apps: set, PublicSubscribe: func(ch string) bool { return !strings.HasPrefix(ch, "restricted-") }}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	srv, err := pusher.New(cfg, hub, nil)
	if err != nil {
		t.Fatal(err)
	}
	clientIP := func(r *http.Request) string {
		if ip := r.Header.Get("X-Test-Client-IP"); ip != "" {
			return ip
		}
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		return host
	}
	ts := httptest.NewServer(httpx.Mux(srv.Routes(), clientIP))
	t.Cleanup(func() { ts.Close(); _ = srv.Close(); _ = hub.Close() })
	return &env{t: t, revs: revs, hub: hub, srv: srv, ts: ts}
}

func (e *env) wsURL(key string) string {
	return "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/app/" + key + "?protocol=7&client=js&version=8.4.0"
}

// frame is a decoded server frame.
type frame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	UserID  string          `json:"user_id"`
}

// dataString returns data that the server sent as a JSON string.
func (f frame) dataString(t *testing.T) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(f.Data, &s); err != nil {
		t.Fatalf("data of %s is not a JSON string: %s", f.Event, f.Data)
	}
	return s
}

type client struct {
	*wstest.Client
	t        *testing.T
	socketID string
}

func (e *env) connect(t *testing.T, opt wstest.Options) *client {
	t.Helper()
	c := &client{Client: wstest.Dial(t, e.wsURL(appKey), opt), t: t}
	f := c.next()
	if f.Event != "pusher:connection_established" {
		t.Fatalf("first frame %+v", f)
	}
	var d struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	if err := json.Unmarshal([]byte(f.dataString(t)), &d); err != nil {
		t.Fatal(err)
	}
	c.socketID = d.SocketID
	return c
}

func (c *client) next() frame {
	c.t.Helper()
	var f frame
	raw := c.ReadText(c.t)
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		c.t.Fatalf("frame %q: %v", raw, err)
	}
	return f
}

// expect reads the next frame and checks its event name.
func (c *client) expect(event string) frame {
	c.t.Helper()
	f := c.next()
	if f.Event != event {
		c.t.Fatalf("got %s (%s on %q), want %s", f.Event, f.Data, f.Channel, event)
	}
	return f
}

func (c *client) send(event, channel string, data any) {
	c.t.Helper()
	m := map[string]any{"event": event, "data": data}
	if channel != "" {
		m["channel"] = channel
	}
	b, _ := json.Marshal(m)
	c.WriteText(c.t, string(b))
}

func (c *client) subscribe(channel, channelData string) {
	c.t.Helper()
	d := map[string]string{"channel": channel}
	if strings.HasPrefix(channel, "private-") || strings.HasPrefix(channel, "presence-") {
		d["auth"] = pusherproto.ChannelAuth(appKey, appSecret, c.socketID, channel, channelData)
	}
	if channelData != "" {
		d["channel_data"] = channelData
	}
	c.send("pusher:subscribe", "", d)
}

// ping round-trips pusher:ping, proving every earlier frame was handled.
func (c *client) sync() {
	c.t.Helper()
	c.send("pusher:ping", "", map[string]any{})
	c.expect("pusher:pong")
}

// api signs and sends an HTTP API request.
func (e *env) api(method, path string, params url.Values, body []byte, mutate func(url.Values)) (int, map[string]any) {
	e.t.Helper()
	q := pusherproto.SignedQuery(appKey, appSecret, method, path, params, body, time.Now())
	if mutate != nil {
		mutate(q)
	}
	req, _ := http.NewRequest(method, e.ts.URL+path+"?"+q.Encode(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (e *env) trigger(channel, name, data, socketID string) {
	e.t.Helper()
	ev := map[string]any{"name": name, "data": data, "channel": channel}
	if socketID != "" {
		ev["socket_id"] = socketID
	}
	b, _ := json.Marshal(ev)
	if status, out := e.api("POST", "/apps/"+appID+"/events", nil, b, nil); status != 200 {
		e.t.Fatalf("trigger: %d %v", status, out)
	}
}
