package pusher_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"gatehouse/apps"
	"gatehouse/pusherproto"
	"gatehouse/realtime/internal/wstest"
)

func TestAPIRequestChecks(t *testing.T) {
	body := []byte(`{"name":"e","channel":"news","data":"x"}`)
	tests := []struct {
		name   string
		path   string
		body   []byte
		mutate func(url.Values)
		status int
	}{
		{name: "good", status: 200},
		{name: "wrong secret", status: 401, mutate: func(q url.Values) {
			q.Set("auth_signature", pusherproto.SignRequest("wrong", "POST", "/apps/chat/events", q))
		}},
		{name: "stale timestamp", status: 401, mutate: func(q url.Values) {
			q.Set("auth_timestamp", fmt.Sprint(time.Now().Add(-11*time.Minute).Unix()))
			q.Set("auth_signature", pusherproto.SignRequest(appSecret, "POST", "/apps/chat/events", q))
		}},
		{name: "bad body_md5", status: 401, mutate: func(q url.Values) {
			q.Set("body_md5", pusherproto.BodyMD5([]byte("other")))
			q.Set("auth_signature", pusherproto.SignRequest(appSecret, "POST", "/apps/chat/events", q))
		}},
		{name: "wrong key", status: 401, mutate: func(q url.Values) { q.Set("auth_key", "other") }},
		{name: "unknown app", path: "/apps/nope/events", status: 404},
		{name: "body over 64 KiB", body: []byte(`{"name":"e","channel":"news","data":"` + strings.Repeat("x", 65<<10) + `"}`), status: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			path, b := "/apps/"+appID+"/events", body
			if tt.path != "" {
				path = tt.path
			}
			if tt.body != nil {
				b = tt.body
			}
			status, out := e.api("POST", path, nil, b, tt.mutate)
			if status != tt.status {
				t.Fatalf("status %d (%v), want %d", status, out, tt.status)
			}
			if status != 200 && (out["error"] == nil || out["error_description"] == nil) {
				t.Fatalf("error body %v", out)
			}
		})
	}
}

func TestAPIAdminSourceAddress(t *testing.T) {
	e := newEnv(t, envOpts{app: func(a *apps.App) { a.AdminSourceAddress = []string{"10.0.0.0/8"} }})
	status, _ := e.api("GET", "/apps/"+appID+"/channels", nil, nil, nil)
	if status != 401 {
		t.Fatalf("status %d from outside admin_source_address", status)
	}
}

func TestAPIEventLimits(t *testing.T) {
	e := newEnv(t, envOpts{})
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("c%d", i)
	}
	batch := make([]map[string]string, 11)
	for i := range batch {
		batch[i] = map[string]string{"name": "e", "channel": "c", "data": "x"}
	}
	mk := func(v any) []byte { b, _ := json.Marshal(v); return b }
	tests := []struct {
		name   string
		path   string
		body   []byte
		status int
	}{
		{"101 channels", "events", mk(map[string]any{"name": "e", "channels": many, "data": "x"}), 400},
		{"100 channels", "events", mk(map[string]any{"name": "e", "channels": many[:100], "data": "x"}), 200},
		{"no name", "events", mk(map[string]any{"channel": "c", "data": "x"}), 400},
		{"long name", "events", mk(map[string]any{"name": strings.Repeat("n", 201), "channel": "c", "data": "x"}), 400},
		{"bad channel", "events", mk(map[string]any{"name": "e", "channel": "a b", "data": "x"}), 400},
		{"bad socket_id", "events", mk(map[string]any{"name": "e", "channel": "c", "data": "x", "socket_id": "1"}), 400},
		{"data too large", "events", mk(map[string]any{"name": "e", "channel": "c", "data": strings.Repeat("d", 10241)}), 413},
		{"not json", "events", []byte("{"), 400},
		{"user_count on public", "events", mk(map[string]any{"name": "e", "channel": "c", "data": "x", "info": "user_count"}), 400},
		{"batch of 11", "batch_events", mk(map[string]any{"batch": batch}), 400},
		{"batch of 10", "batch_events", mk(map[string]any{"batch": batch[:10]}), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, out := e.api("POST", "/apps/"+appID+"/"+tt.path, nil, tt.body, nil); status != tt.status {
				t.Fatalf("status %d (%v), want %d", status, out, tt.status)
			}
		})
	}
}

func TestAPIBatchDelivers(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.connect(t, wstest.Options{})
	a.subscribe("one", "")
	a.expect("pusher_internal:subscription_succeeded")
	body := []byte(`{"batch":[{"name":"e1","channel":"one","data":"1"},{"name":"e2","channel":"two","data":"2"},{"name":"e3","channel":"one","data":"3","info":"subscription_count"}]}`)
	status, out := e.api("POST", "/apps/"+appID+"/batch_events", nil, body, nil)
	if status != 200 {
		t.Fatalf("%d %v", status, out)
	}
	if got := fmt.Sprint(out["batch"]); got != "[map[] map[] map[subscription_count:1]]" {
		t.Fatalf("batch info %s", got)
	}
	a.expect("e1")
	a.expect("e3")
}

func TestAPIChannels(t *testing.T) {
	e := newEnv(t, envOpts{})
	a, b := e.connect(t, wstest.Options{}), e.connect(t, wstest.Options{})
	a.subscribe("presence-room", presenceData("1", "Ada"))
	a.expect("pusher_internal:subscription_succeeded")
	b.subscribe("presence-room", presenceData("1", "Ada"))
	b.expect("pusher_internal:subscription_succeeded")
	a.subscribe("news", "")
	a.expect("pusher_internal:subscription_succeeded")
	// The hub counts a subscription just after acknowledging it: wait
	// until all three counts are in.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, out := e.api("GET", "/apps/"+appID+"/channels", url.Values{"info": {"subscription_count"}}, nil, nil)
		if fmt.Sprint(out) == "map[channels:map[news:map[subscription_count:1] presence-room:map[subscription_count:2]]]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("counts never complete: %v", out)
		}
		runtime.Gosched()
	}

	status, out := e.api("GET", "/apps/"+appID+"/channels", url.Values{"filter_by_prefix": {"presence-"}, "info": {"user_count,subscription_count"}}, nil, nil)
	if got := fmt.Sprint(out); status != 200 || got != "map[channels:map[presence-room:map[subscription_count:2 user_count:1]]]" {
		t.Fatalf("%d %s", status, got)
	}
	status, out = e.api("GET", "/apps/"+appID+"/channels", nil, nil, nil)
	if got := fmt.Sprint(out); status != 200 || got != "map[channels:map[news:map[] presence-room:map[]]]" {
		t.Fatalf("%d %s", status, got)
	}
	if status, _ = e.api("GET", "/apps/"+appID+"/channels", url.Values{"info": {"user_count"}}, nil, nil); status != 400 {
		t.Fatalf("user_count without presence prefix: %d", status)
	}
	status, out = e.api("GET", "/apps/"+appID+"/channels/presence-room", url.Values{"info": {"user_count,subscription_count"}}, nil, nil)
	if got := fmt.Sprint(out); status != 200 || got != "map[occupied:true subscription_count:2 user_count:1]" {
		t.Fatalf("%d %s", status, got)
	}
	status, out = e.api("GET", "/apps/"+appID+"/channels/empty", nil, nil, nil)
	if got := fmt.Sprint(out); status != 200 || got != "map[occupied:false]" {
		t.Fatalf("%d %s", status, got)
	}
	if status, _ = e.api("GET", "/apps/"+appID+"/channels/news/users", nil, nil, nil); status != 400 {
		t.Fatalf("users of a public channel: %d", status)
	}
	if status, _ = e.api("GET", "/apps/"+appID+"/channels/news", url.Values{"info": {"user_count"}}, nil, nil); status != 400 {
		t.Fatalf("user_count of a public channel: %d", status)
	}
}

func FuzzAPIQuery(f *testing.F) {
	f.Add("auth_key=k&auth_timestamp=1&auth_version=1.0&auth_signature=x&info=user_count", "GET")
	f.Add("filter_by_prefix=presence-&info=subscription_count,user_count", "POST")
	f.Add("%%%&&==", "PUT")
	f.Fuzz(func(t *testing.T, rawQuery, method string) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		s := pusherproto.StringToSign(method, "/apps/1/channels", q)
		if strings.Count(s, "\n") < 2 {
			t.Fatalf("string to sign lost its structure: %q", s)
		}
		if pusherproto.VerifyRequest("k", "s", method, "/apps/1/channels", q, nil, time.Unix(1, 0)) == nil &&
			q.Get("auth_signature") != pusherproto.SignRequest("s", method, "/apps/1/channels", q) {
			t.Fatalf("accepted a forged query %q", rawQuery)
		}
	})
}

// An app without a key and secret has no Pusher HTTP API: a request is
// refused before any signature is looked at, even one "signed" with the
// empty credentials anyone could use.
func TestAPIAppWithoutPusherCredentials(t *testing.T) {
	e := newEnv(t, envOpts{app: func(a *apps.App) { a.Key, a.Secret = "", "" }})
	body := []byte(`{"name":"e","channel":"news","data":"x"}`)
	path := "/apps/" + appID + "/events"
	forged := func(q url.Values) {
		for k, v := range pusherproto.SignedQuery("", "", "POST", path, nil, body, time.Now()) {
			q[k] = v
		}
	}
	for name, mutate := range map[string]func(url.Values){"app's old credentials": nil, "empty credentials": forged} {
		status, out := e.api("POST", path, nil, body, mutate)
		if status != 404 || !strings.Contains(fmt.Sprint(out["error_description"]), "no Pusher key and secret") {
			t.Errorf("%s: status %d %v", name, status, out)
		}
	}
}
