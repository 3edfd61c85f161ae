package pusher_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/apps"
	"gatehouse/pusherproto"
	"gatehouse/realtime"
	"gatehouse/realtime/internal/wstest"
	"gatehouse/realtime/pusher"
)

func TestConnectionEstablished(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := wstest.Dial(t, e.wsURL(appKey), wstest.Options{})
	raw := c.ReadText(t)
	var f struct {
		Event string `json:"event"`
		Data  string `json:"data"` // a JSON string, as pusher-js requires
	}
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	var d struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	if err := json.Unmarshal([]byte(f.Data), &d); err != nil {
		t.Fatal(err)
	}
	if f.Event != "pusher:connection_established" || !regexp.MustCompile(`^\d+\.\d+$`).MatchString(d.SocketID) || d.ActivityTimeout != 120 {
		t.Fatalf("got %s", raw)
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name   string
		opts   envOpts
		key    string
		query  string
		ip     string
		code   int
		before int // connections opened first
	}{
		{name: "unknown app key", key: "nope", code: 4001},
		{name: "protocol too old", key: appKey, query: "?protocol=4", code: 4007},
		{name: "source address outside", key: appKey, ip: "192.0.2.7", code: 4009,
			opts: envOpts{app: func(a *apps.App) { a.ClientSourceAddress = []string{"198.51.100.0/24"} }}},
		{name: "source address excluded", key: appKey, ip: "198.51.100.9", code: 4009,
			opts: envOpts{app: func(a *apps.App) { a.ClientSourceAddress = []string{"0.0.0.0/0", "!198.51.100.9"} }}},
		{name: "over capacity", key: appKey, code: 4100, before: 1, opts: envOpts{limits: realtime.Limits{MaxConnections: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			for i := 0; i < tt.before; i++ {
				e.connect(t, wstest.Options{})
			}
			u := strings.TrimSuffix(e.wsURL(tt.key), "?protocol=7&client=js&version=8.4.0") + tt.query
			h := http.Header{}
			if tt.ip != "" {
				h.Set("X-Test-Client-IP", tt.ip)
			}
			c := wstest.Dial(t, u, wstest.Options{Header: h})
			code, _, before := c.ExpectClose(t)
			if code != tt.code || len(before) != 1 || !strings.Contains(before[0], `"pusher:error"`) || !strings.Contains(before[0], `"code":`+itoa(tt.code)) {
				t.Fatalf("close %d after %q, want %d after pusher:error", code, before, tt.code)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestSourceAddressAllowed(t *testing.T) {
	e := newEnv(t, envOpts{app: func(a *apps.App) { a.ClientSourceAddress = []string{"198.51.100.0/24", "!198.51.100.9"} }})
	c := wstest.Dial(t, e.wsURL(appKey), wstest.Options{Header: http.Header{"X-Test-Client-Ip": {"198.51.100.8"}}})
	if raw := c.ReadText(t); !strings.Contains(raw, "connection_established") {
		t.Fatalf("got %s", raw)
	}
}

func TestPingPong(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.connect(t, wstest.Options{})
	c.sync()
}

func TestPublicChannelDataByteForByte(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "deflate"}[compress], func(t *testing.T) {
			e := newEnv(t, envOpts{})
			a, b := e.connect(t, wstest.Options{Compress: compress}), e.connect(t, wstest.Options{})
			for _, c := range []*client{a, b} {
				c.subscribe("news", "")
				if f := c.expect("pusher_internal:subscription_succeeded"); f.Channel != "news" || f.dataString(t) != "{}" {
					t.Fatalf("got %+v", f)
				}
			}
			datas := []string{`{"text":"<b>hi</b> & \"quoted\" \u2028 é 😀"}`, "plain text", strings.Repeat("xy", 3000), `{ "spaced" :  1 }`}
			for _, d := range datas {
				e.trigger("news", "update", d, "")
				for _, c := range []*client{a, b} {
					f := c.expect("update")
					if got := f.dataString(t); got != d || f.Channel != "news" {
						t.Fatalf("data %q, want %q", got, d)
					}
				}
			}
			// socket_id excludes the sender.
			e.trigger("news", "update", "not for a", a.socketID)
			if got := b.expect("update").dataString(t); got != "not for a" {
				t.Fatal(got)
			}
			a.sync()
		})
	}
}

func TestPrivateChannelAuth(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.connect(t, wstest.Options{})
	c.subscribe("private-ok", "")
	c.expect("pusher_internal:subscription_succeeded")

	bad := []map[string]string{
		{"channel": "private-a", "auth": appKey + ":" + strings.Repeat("0", 64)},
		{"channel": "private-a", "auth": pusherproto.ChannelAuth(appKey, "wrong-secret", c.socketID, "private-a", "")},
		{"channel": "private-a", "auth": pusherproto.ChannelAuth(appKey, appSecret, "1.1", "private-a", "")},
		{"channel": "private-a"},
		{"channel": "presence-a", "auth": pusherproto.ChannelAuth(appKey, appSecret, c.socketID, "presence-a", `{"user_id":"1"}`), "channel_data": `{"user_id":"2"}`},
		{"channel": "#server-to-user-1"},
		{"channel": "private-encrypted-x", "auth": pusherproto.ChannelAuth(appKey, appSecret, c.socketID, "private-encrypted-x", "")},
	}
	for _, d := range bad {
		c.send("pusher:subscribe", "", d)
		f := c.expect("pusher:subscription_error")
		var errData struct {
			Type   string `json:"type"`
			Error  string `json:"error"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal([]byte(f.dataString(t)), &errData); err != nil || errData.Type != "AuthError" || errData.Status != 401 || f.Channel != d["channel"] {
			t.Fatalf("%v: got %s %s", d, f.Channel, f.Data)
		}
	}
	for _, name := range []string{strings.Repeat("a", 201), "bad name", "#x"} {
		c.send("pusher:subscribe", "", map[string]string{"channel": name})
		c.expect("pusher:subscription_error")
	}
}

func TestEncryptedChannelWithMasterKey(t *testing.T) {
	e := newEnv(t, envOpts{app: func(a *apps.App) { a.EncryptionMasterKey = make([]byte, 32) }})
	c := e.connect(t, wstest.Options{})
	c.subscribe("private-encrypted-x", "")
	c.expect("pusher_internal:subscription_succeeded")
	// Client events are never relayed on encrypted channels.
	c.send("client-x", "private-encrypted-x", map[string]any{})
	c.expect("pusher:error")
}

func presenceData(id, name string) string {
	return `{"user_id":"` + id + `","user_info":{"name":"` + name + `"}}`
}

func TestPresence(t *testing.T) {
	e := newEnv(t, envOpts{limits: realtime.Limits{PresenceMembers: 2}})
	ada := e.connect(t, wstest.Options{})
	ada.subscribe("presence-room", presenceData("1", "Ada"))
	f := ada.expect("pusher_internal:subscription_succeeded")
	if got, want := f.dataString(t), `{"presence":{"ids":["1"],"hash":{"1":{"name":"Ada"}},"count":1}}`; got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	bob := e.connect(t, wstest.Options{})
	bob.subscribe("presence-room", presenceData("2", "Bob"))
	var p struct {
		Presence struct {
			IDs   []string                   `json:"ids"`
			Hash  map[string]json.RawMessage `json:"hash"`
			Count int                        `json:"count"`
		} `json:"presence"`
	}
	if err := json.Unmarshal([]byte(bob.expect("pusher_internal:subscription_succeeded").dataString(t)), &p); err != nil || p.Presence.Count != 2 || len(p.Presence.IDs) != 2 {
		t.Fatalf("bob sees %+v", p)
	}
	added := ada.expect("pusher_internal:member_added")
	if got := added.dataString(t); got != `{"user_id":"2","user_info":{"name":"Bob"}}` {
		t.Fatalf("member_added %s", got)
	}
	// Bob's second socket: no member_added, and the limit counts users.
	bob2 := e.connect(t, wstest.Options{})
	bob2.subscribe("presence-room", presenceData("2", "Bob"))
	bob2.expect("pusher_internal:subscription_succeeded")
	carol := e.connect(t, wstest.Options{})
	carol.subscribe("presence-room", presenceData("3", "Carol"))
	if got := carol.expect("pusher:subscription_error").dataString(t); !strings.Contains(got, "LimitReachedError") {
		t.Fatalf("limit error %s", got)
	}
	// Client events on presence carry user_id and are not echoed.
	bob.send("client-typing", "presence-room", map[string]any{"on": true})
	f = ada.expect("client-typing")
	if f.UserID != "2" || f.dataString(t) != `{"on":true}` {
		t.Fatalf("client event %+v", f)
	}
	bob2.expect("client-typing")
	bob.sync()
	// Member removed only when Bob's last socket leaves.
	bob.send("pusher:unsubscribe", "", map[string]string{"channel": "presence-room"})
	bob.sync()
	ada.sync()
	bob2.Close()
	if got := ada.expect("pusher_internal:member_removed").dataString(t); got != `{"user_id":"2"}` {
		t.Fatalf("member_removed %s", got)
	}
	// The HTTP API sees Ada only.
	status, out := e.api("GET", "/apps/"+appID+"/channels/presence-room/users", nil, nil, nil)
	if status != 200 || len(out["users"].([]any)) != 1 {
		t.Fatalf("users: %d %v", status, out)
	}
}

func TestClientEvents(t *testing.T) {
	e := newEnv(t, envOpts{limits: realtime.Limits{ClientEventsPerSecond: 3}})
	a, b := e.connect(t, wstest.Options{}), e.connect(t, wstest.Options{})
	for _, c := range []*client{a, b} {
		c.subscribe("private-chat", "")
		c.expect("pusher_internal:subscription_succeeded")
		c.subscribe("public", "")
		c.expect("pusher_internal:subscription_succeeded")
	}
	a.send("client-msg", "private-chat", "a string payload")
	if f := b.expect("client-msg"); f.dataString(t) != "a string payload" || f.UserID != "" {
		t.Fatalf("got %+v", f)
	}
	a.send("client-msg", "public", map[string]any{})
	if f := a.expect("pusher:error"); !strings.Contains(string(f.Data), "4301") {
		t.Fatalf("public client event: %s", f.Data)
	}
	a.send("client-msg", "private-other", map[string]any{})
	a.expect("pusher:error")
	a.send("client-"+strings.Repeat("x", 200), "private-chat", map[string]any{})
	a.expect("pusher:error")
	// Rate limit: 3 per second; later ones in the same second are refused.
	limited := false
	for i := 0; i < 10 && !limited; i++ {
		a.send("client-burst", "private-chat", i)
		a.send("pusher:ping", "", map[string]any{})
		for {
			f := a.next()
			if f.Event == "pusher:pong" {
				break
			}
			if f.Event == "pusher:error" && strings.Contains(string(f.Data), "rate limit") {
				limited = true
			}
		}
	}
	if !limited {
		t.Fatal("client events never rate limited")
	}
}

func TestClientEventsDisabled(t *testing.T) {
	e := newEnv(t, envOpts{app: func(a *apps.App) { a.ClientEvents = false }})
	a := e.connect(t, wstest.Options{})
	a.subscribe("private-chat", "")
	a.expect("pusher_internal:subscription_succeeded")
	a.send("client-msg", "private-chat", "x")
	if f := a.expect("pusher:error"); !strings.Contains(string(f.Data), "4301") {
		t.Fatalf("got %s", f.Data)
	}
}

func TestCacheChannel(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.connect(t, wstest.Options{})
	a.subscribe("cache-prices", "")
	a.expect("pusher_internal:subscription_succeeded")
	if f := a.expect("pusher:cache_miss"); f.Channel != "cache-prices" {
		t.Fatalf("cache_miss %+v", f)
	}
	e.trigger("cache-prices", "price", `{"eur":1}`, "")
	a.expect("price")
	b := e.connect(t, wstest.Options{})
	b.subscribe("cache-prices", "")
	b.expect("pusher_internal:subscription_succeeded")
	if f := b.expect("price"); f.dataString(t) != `{"eur":1}` || f.Channel != "cache-prices" {
		t.Fatalf("replayed %+v", f)
	}
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.connect(t, wstest.Options{})
	a.subscribe("news", "")
	a.expect("pusher_internal:subscription_succeeded")
	a.send("pusher:unsubscribe", "", map[string]string{"channel": "news"})
	a.sync()
	e.trigger("news", "update", "x", "")
	a.sync() // the pong arrives with no event before it
}

func TestSigninAndTerminate(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.connect(t, wstest.Options{})
	userData := `{"id":"12345","name":"Ada"}`
	a.send("pusher:signin", "", map[string]string{"auth": pusherproto.UserAuth(appKey, appSecret, a.socketID, userData), "user_data": userData})
	var d struct {
		UserData string `json:"user_data"`
	}
	if err := json.Unmarshal([]byte(a.expect("pusher:signin_success").dataString(t)), &d); err != nil || d.UserData != userData {
		t.Fatalf("signin_success user_data %q", d.UserData)
	}
	a.subscribe("#server-to-user-12345", "")
	a.expect("pusher_internal:subscription_succeeded")
	a.subscribe("#server-to-user-999", "")
	a.expect("pusher:subscription_error")

	other := e.connect(t, wstest.Options{})
	status, out := e.api("POST", "/apps/"+appID+"/users/12345/terminate_connections", nil, []byte("{}"), nil)
	if status != 200 {
		t.Fatalf("terminate: %d %v", status, out)
	}
	if code, _, _ := a.ExpectClose(t); code != 4009 {
		t.Fatalf("terminated with %d", code)
	}
	other.sync()
}

// The session in the signed user data binds the socket that signs in with
// it: a logout closes it. Nobody else can present that signature.
func TestSigninBindsTheSession(t *testing.T) {
	e := newEnv(t, envOpts{})
	a, b := e.connect(t, wstest.Options{}), e.connect(t, wstest.Options{})
	userData := `{"id":"12345","sid":"sid-signin"}`
	a.send("pusher:signin", "", map[string]string{"auth": pusherproto.UserAuth(appKey, appSecret, a.socketID, userData), "user_data": userData})
	a.expect("pusher:signin_success")
	if err := e.revs.Revoke(context.Background(), "sid-signin", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := a.ExpectClose(t); code != 4009 {
		t.Fatalf("close %d", code)
	}
	// A session already revoked cannot sign in.
	b.send("pusher:signin", "", map[string]string{"auth": pusherproto.UserAuth(appKey, appSecret, b.socketID, userData), "user_data": userData})
	if code, _, _ := b.ExpectClose(t); code != 4009 {
		t.Fatalf("signin with a revoked session: close %d", code)
	}
}

func TestSigninBadSignature(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.connect(t, wstest.Options{})
	a.send("pusher:signin", "", map[string]string{"auth": pusherproto.UserAuth(appKey, "wrong", a.socketID, `{"id":"1"}`), "user_data": `{"id":"1"}`})
	if code, _, _ := a.ExpectClose(t); code != 4009 {
		t.Fatalf("close %d", code)
	}
}

func TestRevokedSessionClosesSocket(t *testing.T) {
	e := newEnv(t, envOpts{})
	a, b := e.connect(t, wstest.Options{}), e.connect(t, wstest.Options{})
	ctx := context.Background()
	if err := e.srv.BindSession(ctx, appID, a.socketID, "private-x", "sid-42"); err != nil {
		t.Fatal(err)
	}
	a.subscribe("private-x", "")
	a.expect("pusher_internal:subscription_succeeded")
	start := time.Now()
	if err := e.revs.Revoke(ctx, "sid-42", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	code, _, before := a.ExpectClose(t)
	if code != 4009 || time.Since(start) > time.Second || len(before) != 1 || !strings.Contains(before[0], "pusher:error") {
		t.Fatalf("close %d after %v (%q)", code, time.Since(start), before)
	}
	b.sync()
}

func TestActivityTimeout(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *pusher.Config) {
		c.ActivityTimeout = 100 * time.Millisecond
		c.PongTimeout = 100 * time.Millisecond
	}})
	a := e.connect(t, wstest.Options{})
	a.expect("pusher:ping") // idle: the server asks
	code, _, before := a.ExpectClose(t)
	if code != 4201 {
		t.Fatalf("close %d after %q", code, before)
	}
}

func TestInvalidFrames(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.connect(t, wstest.Options{})
	for _, raw := range []string{"not json", `{"event":1}`, `[]`, `{"event":"pusher:subscribe","data":"nope"}`} {
		a.WriteText(t, raw)
		a.expect("pusher:error")
	}
	a.sync()
}

// TestServerToUserWithProviderSubject: identity-provider subjects such as
// "auth0|42" hold characters no channel name may, yet a signed-in user must
// still receive server-to-user events, and only their own.
func TestServerToUserWithProviderSubject(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.connect(t, wstest.Options{})
	userData := `{"id":"auth0|42"}`
	a.send("pusher:signin", "", map[string]string{"auth": pusherproto.UserAuth(appKey, appSecret, a.socketID, userData), "user_data": userData})
	a.expect("pusher:signin_success")
	a.subscribe("#server-to-user-auth0|43", "")
	a.expect("pusher:subscription_error")
	a.subscribe("#server-to-user-auth0|42", "")
	a.expect("pusher_internal:subscription_succeeded")
	e.trigger("#server-to-user-auth0|42", "note", `{"hello":"ada"}`, "")
	if got := a.expect("note").dataString(t); got != `{"hello":"ada"}` {
		t.Fatalf("data %q", got)
	}
	a.subscribe("#server-to-user-auth0 42", "")
	a.expect("pusher:subscription_error")
}
