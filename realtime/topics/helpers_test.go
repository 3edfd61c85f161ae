package topics_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"gatehouse/apps"
	"gatehouse/authn"
	"gatehouse/internal/httpx"
	"gatehouse/issuer"
	"gatehouse/keys"
	"gatehouse/policy"
	"gatehouse/pusherproto"
	"gatehouse/realtime"
	"gatehouse/realtime/internal/wstest"
	"gatehouse/realtime/memory"
	"gatehouse/realtime/pusher"
	"gatehouse/realtime/topics"
	"gatehouse/revocation"
)

const (
	appID     = "chat"
	appKey    = "278d425bdf160c739803"
	appSecret = "7ad3773142a6692b25b8"
)

// fakeClock is a topics.Clock that moves only when told; Advance runs the
// timers that fall due, in the caller's goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c    *fakeClock
	at   time.Time
	f    func()
	done bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) topics.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.done
	t.done = true
	return was
}

// Advance moves the clock and runs every timer due by then.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.done:
		case !t.at.After(c.now):
			t.done = true
			due = append(due, t.f)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

type env struct {
	t      *testing.T
	clock  *fakeClock
	revs   *revocation.Memory
	hub    *realtime.Hub
	iss    *issuer.Issuer
	topics *topics.Server
	pusher *pusher.Server
	ts     *httptest.Server
}

type envOpts struct {
	cfg    func(*topics.Config)
	limits realtime.Limits
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	clock := newFakeClock()
	revs := revocation.NewMemory(clock.Now)
	hub, err := realtime.New(context.Background(), realtime.Config{Limits: o.limits}, memory.New(memory.Config{}), revs, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.Generate(keys.ES256)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.NewSet(k)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := issuer.New(issuer.Config{Issuer: "https://gatehouse.test", Audience: "realtime", Now: clock.Now, Revocations: revs}, ks)
	if err != nil {
		t.Fatal(err)
	}
	set, err := apps.New(apps.App{ID: appID, Key: appKey, Secret: appSecret, ClientEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := topics.Config{Apps: set, Clock: clock}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	pol, err := policy.New(policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := authn.NewResolver(iss, pol, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := topics.New(cfg, hub, res, nil)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := pusher.New(pusher.Config{Apps: set, PublicSubscribe: func(ch string) bool { return !strings.HasPrefix(ch, "restricted-") }}, hub, nil)
	if err != nil {
		t.Fatal(err)
	}
	clientIP := func(r *http.Request) string {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		return host
	}
	srv := httptest.NewServer(httpx.Mux(append(ts.Routes(), ps.Routes()...), clientIP))
	t.Cleanup(func() { srv.Close(); _ = ts.Close(); _ = ps.Close(); _ = hub.Close() })
	return &env{t: t, clock: clock, revs: revs, hub: hub, iss: iss, topics: ts, pusher: ps, ts: srv}
}

// mint returns a token for sub with session sid, the given permission
// strings and lifetime.
func (e *env) mint(sub, sid string, ttl time.Duration, perms ...string) string {
	e.t.Helper()
	g, err := policy.ParsePermissions(perms)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.iss.Mint("", issuer.Request{Identity: policy.Identity{Subject: sub, SessionID: sid}, Grants: g, TTL: ttl})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok.Value
}

func sub(topic string) string { return policy.SubscribePermission + topic }
func pub(topic string) string { return policy.PublishPermission + topic }

func (e *env) wsURL(token string) string {
	u := "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/apps/" + appID
	if token != "" {
		u += "?access_token=" + url.QueryEscape(token)
	}
	return u
}

// msg is a decoded server frame.
type msg struct {
	Topic       string          `json:"topic"`
	MessageType string          `json:"messageType"`
	Data        json.RawMessage `json:"data"`
}

// delivery is the data of a message delivered to subscribers.
type delivery struct {
	Payload json.RawMessage `json:"payload"`
	Client  *struct {
		ConnectionID string `json:"connectionId"`
		Sub          string `json:"sub"`
	} `json:"client"`
	ID *string `json:"id"`
}

// errData is the data of a priv/errors frame.
type errData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Topic   string `json:"topic"`
	ID      string `json:"id"`
}

type client struct {
	*wstest.Client
	t    *testing.T
	id   string
	perm []string
	seq  int
}

// connect opens a topic connection with token and reads the welcome.
func (e *env) connect(t *testing.T, token string, opt wstest.Options) *client {
	t.Helper()
	c := &client{Client: wstest.Dial(t, e.wsURL(token), opt), t: t}
	m := c.next()
	if m.Topic != "main" || m.MessageType != "welcome" {
		t.Fatalf("first frame %+v", m)
	}
	var d struct {
		Connection struct {
			ID          string   `json:"id"`
			Permissions []string `json:"permissions"`
		} `json:"connection"`
	}
	if err := json.Unmarshal(m.Data, &d); err != nil {
		t.Fatal(err)
	}
	c.id, c.perm = d.Connection.ID, d.Connection.Permissions
	return c
}

// user connects a client for sub with perms and a one-hour token.
func (e *env) user(t *testing.T, subject string, perms ...string) *client {
	t.Helper()
	return e.connect(t, e.mint(subject, "", time.Hour, perms...), wstest.Options{})
}

func (c *client) next() msg {
	c.t.Helper()
	raw := c.ReadText(c.t)
	var m msg
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		c.t.Fatalf("frame %q: %v", raw, err)
	}
	return m
}

// expect reads the next frame and checks its topic and message type.
func (c *client) expect(topic, messageType string) msg {
	c.t.Helper()
	m := c.next()
	if m.Topic != topic || m.MessageType != messageType {
		c.t.Fatalf("got %s.%s %s, want %s.%s", m.Topic, m.MessageType, m.Data, topic, messageType)
	}
	return m
}

func (c *client) send(typ string, data any) {
	c.t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "data": data})
	if err != nil {
		c.t.Fatal(err)
	}
	c.WriteText(c.t, string(b))
}

func (c *client) subscribe(topic string) {
	c.t.Helper()
	c.send("subscribe", map[string]any{"topic": topic})
}

func (c *client) publish(topic, messageType string, payload any, id string) {
	c.t.Helper()
	c.send("publish", map[string]any{"topic": topic, "messageType": messageType, "payload": payload, "id": id, "compress": false})
}

// expectAck reads the next frame and checks it acknowledges id.
func (c *client) expectAck(id string) {
	c.t.Helper()
	m := c.expect("priv/acks", "ack")
	var d struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(m.Data, &d); err != nil || d.Data != id {
		c.t.Fatalf("ack %s, want id %q", m.Data, id)
	}
}

// expectError reads the next frame and checks it is an error with code.
func (c *client) expectError(code string) errData {
	c.t.Helper()
	m := c.expect("priv/errors", "error")
	var d errData
	if err := json.Unmarshal(m.Data, &d); err != nil {
		c.t.Fatal(err)
	}
	if d.Code != code {
		c.t.Fatalf("error %s, want code %s", m.Data, code)
	}
	return d
}

// sync round-trips an acknowledged frame: every frame the server sent this
// client before it has been read when sync returns, so a following
// expectation sees nothing older.
func (c *client) sync() {
	c.t.Helper()
	c.seq++
	id := "sync-" + strconv.Itoa(c.seq)
	c.send("unsubscribe", map[string]any{"topic": "sync-none", "id": id})
	c.expectAck(id)
}

// subscribed subscribes and waits until the server has handled it.
func (c *client) subscribed(topic string) {
	c.t.Helper()
	c.subscribe(topic)
	c.sync()
}

// expectDelivery reads the next frame as a delivery on topic.
func (c *client) expectDelivery(topic, messageType string) delivery {
	c.t.Helper()
	m := c.expect(topic, messageType)
	var d delivery
	if err := json.Unmarshal(m.Data, &d); err != nil {
		c.t.Fatal(err)
	}
	return d
}

// pusherClient is a Pusher protocol 7 connection on the same server.
type pusherClient struct {
	*wstest.Client
	t        *testing.T
	socketID string
}

type pusherFrame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

func (e *env) pusherConnect(t *testing.T) *pusherClient {
	t.Helper()
	u := "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/app/" + appKey + "?protocol=7&client=js&version=8.4.0"
	p := &pusherClient{Client: wstest.Dial(t, u, wstest.Options{}), t: t}
	f := p.expect("pusher:connection_established")
	var d struct {
		SocketID string `json:"socket_id"`
	}
	if err := json.Unmarshal([]byte(f.dataString(t)), &d); err != nil {
		t.Fatal(err)
	}
	p.socketID = d.SocketID
	return p
}

func (f pusherFrame) dataString(t *testing.T) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(f.Data, &s); err != nil {
		t.Fatalf("data of %s is not a JSON string: %s", f.Event, f.Data)
	}
	return s
}

func (p *pusherClient) expect(event string) pusherFrame {
	p.t.Helper()
	raw := p.ReadText(p.t)
	var f pusherFrame
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		p.t.Fatalf("frame %q: %v", raw, err)
	}
	if f.Event != event {
		p.t.Fatalf("got %s, want %s", raw, event)
	}
	return f
}

func (p *pusherClient) send(event, channel string, data any) {
	p.t.Helper()
	m := map[string]any{"event": event, "data": data}
	if channel != "" {
		m["channel"] = channel
	}
	b, _ := json.Marshal(m)
	p.WriteText(p.t, string(b))
}

func (p *pusherClient) subscribe(channel string) {
	p.t.Helper()
	d := map[string]string{"channel": channel}
	if strings.HasPrefix(channel, "private-") {
		d["auth"] = pusherproto.ChannelAuth(appKey, appSecret, p.socketID, channel, "")
	}
	p.send("pusher:subscribe", "", d)
	p.expect("pusher_internal:subscription_succeeded")
}

// sync round-trips pusher:ping.
func (p *pusherClient) sync() {
	p.t.Helper()
	p.send("pusher:ping", "", map[string]any{})
	p.expect("pusher:pong")
}

// trigger publishes through the Pusher HTTP API.
func (e *env) trigger(channel, name, data string) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "data": data, "channel": channel})
	path := "/apps/" + appID + "/events"
	q := pusherproto.SignedQuery(appKey, appSecret, "POST", path, nil, body, time.Now())
	resp, err := http.Post(e.ts.URL+path+"?"+q.Encode(), "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("trigger: %d", resp.StatusCode)
	}
}

// rawFrame is a frame read without wstest's automatic pong.
type rawFrame struct {
	op   ws.OpCode
	code int
}

func wsReadFrame(c *client) (rawFrame, error) {
	f, err := wstest.ReadFrame(c.Conn)
	if err != nil {
		return rawFrame{}, err
	}
	r := rawFrame{op: f.Header.OpCode}
	if r.op == ws.OpClose && len(f.Payload) >= 2 {
		r.code = int(binary.BigEndian.Uint16(f.Payload))
	}
	return r, nil
}

// revoke revokes sid for an hour, as a logout does.
func (e *env) revoke(sid string) {
	e.t.Helper()
	if err := e.revs.Revoke(context.Background(), sid, e.clock.Now().Add(time.Hour)); err != nil {
		e.t.Fatal(err)
	}
}
