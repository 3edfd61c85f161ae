package centrifugo_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gatehouse/authn/authntest"
	"gatehouse/fronts/centrifugo"
	"gatehouse/internal/httpx"
	"gatehouse/policy"
)

type nopMetrics struct{}

func (nopMetrics) Decision(string, string) {}

var ada = policy.Identity{Subject: "ada", Name: "Ada", SessionID: "sid-ada"}

func rig(t *testing.T, cfg centrifugo.Config) (*authntest.Rig, http.Handler) {
	t.Helper()
	yes := true
	r := authntest.New(t, authntest.Config{Policy: policy.Config{
		Anonymous: policy.Rule{Subscribe: []string{"public:*"}},
		Rules:     []policy.Rule{{When: policy.Condition{Authenticated: &yes}, Subscribe: []string{"chat:*"}, Publish: []string{"chat:room"}}},
	}})
	cfg.Enabled = true
	cfg.Now = func() time.Time { return r.Now }
	p, err := centrifugo.New(cfg, r.Resolver, r.Revocations, nil, nopMetrics{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return r, httpx.Mux(p.Routes(), func(*http.Request) string { return "192.0.2.1" })
}

func post(t *testing.T, h http.Handler, path, body string, hdr ...string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func TestConnectAndDecide(t *testing.T) {
	r, h := rig(t, centrifugo.Config{Anonymous: true})
	tok := r.Mint(t, ada, 0)
	code, out := post(t, h, "/webhooks/centrifugo/connect", `{"client":"c1","data":{"token":"`+tok+`"}}`)
	res, _ := out["result"].(map[string]any)
	if code != 200 || res == nil || res["user"] != "ada" {
		t.Fatalf("connect: %d %v", code, out)
	}
	meta, _ := json.Marshal(res["meta"])
	ask := func(kind, channel, m string) map[string]any {
		_, out := post(t, h, "/webhooks/centrifugo/"+kind, `{"client":"c1","user":"ada","channel":"`+channel+`","meta":`+m+`}`)
		return out
	}
	if out := ask("subscribe", "chat:room", string(meta)); out["result"] == nil {
		t.Errorf("subscribe chat:room: %v", out)
	}
	if out := ask("subscribe", "admin:x", string(meta)); out["error"] == nil {
		t.Errorf("subscribe admin:x: %v", out)
	}
	if out := ask("publish", "chat:room", string(meta)); out["result"] == nil {
		t.Errorf("publish chat:room: %v", out)
	}
	if out := ask("publish", "chat:other", string(meta)); out["error"] == nil {
		t.Errorf("publish chat:other: %v", out)
	}
	// Meta is Centrifugo's to send: without it, or for another user, no.
	if out := ask("subscribe", "chat:room", "null"); out["error"] == nil {
		t.Errorf("no meta: %v", out)
	}
	if _, out := post(t, h, "/webhooks/centrifugo/subscribe", `{"user":"mallory","channel":"chat:room","meta":`+string(meta)+`}`); out["error"] == nil {
		t.Errorf("meta of another user: %v", out)
	}
	// Revoked: refresh expires, subscribe disconnects.
	r.Revoke(t, "sid-ada")
	if out := ask("refresh", "", string(meta)); out["result"].(map[string]any)["expired"] != true {
		t.Errorf("refresh after revocation: %v", out)
	}
	if out := ask("subscribe", "chat:room", string(meta)); out["disconnect"] == nil {
		t.Errorf("subscribe after revocation: %v", out)
	}
	if _, out := post(t, h, "/webhooks/centrifugo/connect", `{"client":"c2","data":{"token":"`+tok+`"}}`); out["error"] == nil {
		t.Errorf("connect with a revoked session's token: %v", out)
	}
}

func TestConnectRefusals(t *testing.T) {
	_, h := rig(t, centrifugo.Config{Anonymous: false, HeaderName: "X-Proxy", HeaderValue: "0123456789abcdef"})
	hdr := []string{"X-Proxy", "0123456789abcdef"}
	for name, tc := range map[string]struct {
		body string
		hdr  []string
		code int
	}{
		"no header":        {`{}`, nil, 401},
		"wrong header":     {`{}`, []string{"X-Proxy", "0123456789abcdeX"}, 401},
		"not json":         {`nope`, hdr, 400},
		"array":            {`[]`, hdr, 400},
		"no credential":    {`{"client":"c"}`, hdr, 200},
		"bad token":        {`{"data":{"token":"x.y.z"}}`, hdr, 200},
		"non-string token": {`{"data":{"token":5}}`, hdr, 200},
	} {
		code, out := post(t, h, "/webhooks/centrifugo/connect", tc.body, tc.hdr...)
		if code != tc.code || (code == 200 && out["error"] == nil) {
			t.Errorf("%s: %d %v", name, code, out)
		}
	}
	code, out := post(t, h, "/webhooks/centrifugo/connect", `{"client":"c"}`, append(hdr, "Authorization", "Basic eA==")...)
	if code != 200 || out["error"] == nil {
		t.Errorf("malformed Authorization: %d %v", code, out)
	}
}

func TestRefreshSubRefreshAndServerSideChannels(t *testing.T) {
	r, h := rig(t, centrifugo.Config{Anonymous: true, ServerSideChannels: true, RefreshEvery: time.Minute, AnonymousTTL: 2 * time.Minute})
	tok := r.Mint(t, ada, time.Hour)
	_, out := post(t, h, "/webhooks/centrifugo/connect", `{"client":"c1","data":{"token":"`+tok+`"}}`)
	res, _ := out["result"].(map[string]any)
	if res == nil {
		t.Fatalf("connect: %v", out)
	}
	// expire_at is RefreshEvery away, not the token's end an hour off.
	if got := int64(res["expire_at"].(float64)); got != r.Now.Add(time.Minute).Unix() {
		t.Errorf("expire_at %d, want now+1m", got)
	}
	// Literal granted channels only: chat:* is a pattern.
	if ch, _ := json.Marshal(res["channels"]); string(ch) != "null" {
		t.Errorf("channels %s, want none (chat:* is a pattern)", ch)
	}
	if _, ok := res["info"].(map[string]any)["name"]; !ok {
		t.Errorf("info without name: %v", res["info"])
	}
	meta, _ := json.Marshal(res["meta"])
	ask := func(kind, channel string) map[string]any {
		_, out := post(t, h, "/webhooks/centrifugo/"+kind, `{"client":"c1","user":"ada","channel":"`+channel+`","meta":`+string(meta)+`}`)
		return out
	}
	result := func(out map[string]any) map[string]any { m, _ := out["result"].(map[string]any); return m }
	if res := result(ask("sub_refresh", "chat:room")); res == nil || res["expired"] == true || res["expire_at"] == nil {
		t.Errorf("sub_refresh chat:room: %v", res)
	}
	if res := result(ask("sub_refresh", "admin:x")); res == nil || res["expired"] != true {
		t.Errorf("sub_refresh of an ungranted channel: %v", res)
	}
	// Past the token's end: refresh expires it, publish disconnects.
	r.Now = r.Now.Add(time.Hour + time.Second)
	if res := result(ask("refresh", "")); res == nil || res["expired"] != true {
		t.Errorf("refresh past the end: %v", res)
	}
	if out := ask("publish", "chat:room"); out["disconnect"] == nil {
		t.Errorf("publish past the end: %v", out)
	}

	// Anonymous: no session to end, extended by the anonymous lifetime on
	// every refresh.
	_, out = post(t, h, "/webhooks/centrifugo/connect", `{"client":"c2","data":"not an object"}`)
	res, _ = out["result"].(map[string]any)
	if res == nil || res["user"] == "" {
		t.Fatalf("anonymous connect: %v", out)
	}
	anonMeta, _ := json.Marshal(res["meta"])
	r.Now = r.Now.Add(10 * time.Minute)
	_, out = post(t, h, "/webhooks/centrifugo/refresh", `{"client":"c2","user":`+string(mustJSON(res["user"]))+`,"meta":`+string(anonMeta)+`}`)
	if got := result(out); got == nil || int64(got["expire_at"].(float64)) != r.Now.Add(2*time.Minute).Unix() {
		t.Errorf("anonymous refresh: %v", out)
	}
}

func TestDisabledIs404(t *testing.T) {
	r := authntest.New(t, authntest.Config{})
	p, err := centrifugo.New(centrifugo.Config{}, r.Resolver, r.Revocations, nil, nopMetrics{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h := httpx.Mux(p.Routes(), func(*http.Request) string { return "192.0.2.1" })
	if code, _ := post(t, h, "/webhooks/centrifugo/connect", `{}`); code != http.StatusNotFound {
		t.Errorf("disabled: %d", code)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
