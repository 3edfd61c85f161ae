package deepstream

import (
	"encoding/json"
	"flag"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gatehouse/authn"
	"gatehouse/authn/authntest"
	"gatehouse/fronts/frontstest"
	"gatehouse/internal/httpx"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// rig is the webhook over the fronts' test rig.
type rig struct {
	*authntest.Rig
	hook      *Webhook
	decisions *frontstest.Decisions
}

type rigOpts struct {
	anonymous, enabled, noSessions bool
	limit                          *httpx.RateLimiter
}

func newRig(t *testing.T, o rigOpts) *rig {
	t.Helper()
	var sessions authn.SessionReader = frontstest.Sessions
	if o.noSessions {
		sessions = nil
	}
	r := &rig{Rig: authntest.New(t, authntest.Config{Policy: frontstest.Policy, Sessions: sessions}), decisions: &frontstest.Decisions{}}
	var err error
	r.hook, err = New(Config{Enabled: o.enabled, Anonymous: o.anonymous, AnonymousLimit: o.limit}, r.Resolver, r.decisions, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// dsBody builds a webhook body as deepstream 7 sends it.
func dsBody(authData any, cookie string) string {
	headers := map[string]any{"host": "127.0.0.1:6020", "upgrade": "websocket", "sec-websocket-version": "13"}
	if cookie != "" {
		headers["cookie"] = cookie
	}
	b, _ := json.Marshal(map[string]any{
		"connectionData": map[string]any{"headers": headers, "remoteAddress": "127.0.0.1", "referer": nil},
		"authData":       authData,
	})
	return string(b)
}

func (r *rig) deepstream(body string) *httptest.ResponseRecorder {
	return frontstest.Do(r.hook.Routes(), "POST", Path, body, "Content-Type", "application/json; charset=utf-8")
}

func TestDeepstreamWebhook(t *testing.T) {
	r := newRig(t, rigOpts{anonymous: true, enabled: true})
	good := r.Mint(t, frontstest.Ada, 0)
	expired := r.Mint(t, frontstest.Ada, time.Minute)
	revoked := r.Mint(t, frontstest.Admin, 0)
	r.Revoke(t, frontstest.Admin.SessionID)
	tampered := good[:len(good)-4] + "AAAA"
	r.Now = r.Now.Add(2 * time.Minute)

	for _, tc := range []struct {
		name   string
		body   string
		status int
		golden string
	}{
		{"token", dsBody(map[string]any{"token": good}, ""), 200, "deepstream_token.golden"},
		{"token wins over cookie", dsBody(map[string]any{"token": good}, "gatehouse=root"), 200, "deepstream_token.golden"},
		{"session cookie", dsBody(map[string]any{}, "theme=dark; gatehouse=ada"), 200, "deepstream_session.golden"},
		{"cookie with other authData", dsBody(map[string]any{"username": "x"}, "gatehouse=ada"), 200, "deepstream_session.golden"},
		{"anonymous, empty authData", dsBody(map[string]any{}, ""), 200, "deepstream_anonymous.golden"},
		{"anonymous, null authData", dsBody(nil, ""), 200, "deepstream_anonymous.golden"},
		{"anonymous, foreign cookie", dsBody(map[string]any{}, "theme=dark"), 200, "deepstream_anonymous.golden"},
		{"tampered token", dsBody(map[string]any{"token": tampered}, ""), 401, "deepstream_denied.golden"},
		{"expired token", dsBody(map[string]any{"token": expired}, ""), 401, "deepstream_denied.golden"},
		{"revoked session token", dsBody(map[string]any{"token": revoked}, ""), 401, "deepstream_denied.golden"},
		{"bad token never falls back to cookie", dsBody(map[string]any{"token": tampered}, "gatehouse=ada"), 401, "deepstream_denied.golden"},
		{"bad cookie never falls back to anonymous", dsBody(map[string]any{}, "gatehouse=bad"), 401, "deepstream_denied.golden"},
		{"authData without token or cookie", dsBody(map[string]any{"username": "x", "password": "y"}, ""), 401, "deepstream_denied.golden"},
		{"token not a string", dsBody(map[string]any{"token": 42}, ""), 401, "deepstream_denied.golden"},
		{"empty token", dsBody(map[string]any{"token": ""}, ""), 401, "deepstream_denied.golden"},
		{"not JSON", `{"authData":`, 401, "deepstream_denied.golden"},
		{"array body", `[]`, 401, "deepstream_denied.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := r.deepstream(tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			frontstest.CheckGolden(t, tc.golden, frontstest.Dump(t, rec), *update)
		})
	}

	t.Run("decisions counted", func(t *testing.T) {
		if a, d := r.decisions.Count("deepstream", "allow"), r.decisions.Count("deepstream", "deny"); a != 7 || d != 10 {
			t.Errorf("decisions: %d allowed, %d denied; want 7 and 10", a, d)
		}
	})
}

func TestDeepstreamSwitches(t *testing.T) {
	t.Run("disabled is 404", func(t *testing.T) {
		r := newRig(t, rigOpts{anonymous: true, enabled: false})
		rec := r.deepstream(dsBody(map[string]any{}, ""))
		if rec.Code != 404 {
			t.Fatalf("status %d", rec.Code)
		}
		frontstest.DecodeError(t, rec)
	})
	t.Run("anonymous off", func(t *testing.T) {
		r := newRig(t, rigOpts{anonymous: false, enabled: true})
		if rec := r.deepstream(dsBody(map[string]any{}, "")); rec.Code != 401 {
			t.Fatalf("status %d", rec.Code)
		}
	})
	t.Run("no login configured ignores cookies", func(t *testing.T) {
		r := newRig(t, rigOpts{anonymous: false, enabled: true, noSessions: true})
		if rec := r.deepstream(dsBody(map[string]any{}, "gatehouse=ada")); rec.Code != 401 {
			t.Fatalf("status %d", rec.Code)
		}
	})
	t.Run("body over 64 KiB is 413", func(t *testing.T) {
		r := newRig(t, rigOpts{enabled: true})
		big := dsBody(map[string]any{"pad": strings.Repeat("x", 70<<10)}, "")
		if rec := r.deepstream(big); rec.Code != 413 {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

func TestParseDeepstreamLogin(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want deepstreamLogin
		ok   bool
	}{
		{"minimal", `{}`, deepstreamLogin{AuthDataEmpty: true}, true},
		{"token", `{"authData":{"token":"t"}}`, deepstreamLogin{HasToken: true, Token: "t"}, true},
		{"cookie", `{"connectionData":{"headers":{"cookie":"a=b"}},"authData":{}}`, deepstreamLogin{Cookie: "a=b", AuthDataEmpty: true}, true},
		{"null headers", `{"connectionData":{"headers":null},"authData":null}`, deepstreamLogin{AuthDataEmpty: true}, true},
		{"other authData", `{"authData":{"u":1}}`, deepstreamLogin{}, true},
		{"cookie array", `{"connectionData":{"headers":{"cookie":["a"]}}}`, deepstreamLogin{}, false},
		{"authData string", `{"authData":"token"}`, deepstreamLogin{}, false},
		{"token null", `{"authData":{"token":null}}`, deepstreamLogin{}, false},
		{"not an object", `"x"`, deepstreamLogin{}, false},
		{"trailing garbage", `{} {}`, deepstreamLogin{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDeepstreamLogin([]byte(tc.body))
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzDeepstreamBody(f *testing.F) {
	for _, s := range []string{
		dsBody(map[string]any{"token": "abc"}, "gatehouse=x"),
		dsBody(map[string]any{}, ""),
		dsBody(nil, "a=b; c=d"),
		`{"authData":{"token":1}}`, `{"connectionData":{"headers":{"cookie":null}}}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseDeepstreamLogin(body)
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if got.HasToken && got.Token == "" {
			t.Fatalf("HasToken with an empty token for %q", body)
		}
		if got.HasToken && got.AuthDataEmpty {
			t.Fatalf("a token in an empty authData for %q", body)
		}
	})
}

// refParseDeepstream is the reference semantics the scanner must match,
// written with encoding/json: valid JSON, an object at the top, exact keys,
// a repeated key's last value winning.
func refParseDeepstream(body []byte) (deepstreamLogin, bool) {
	if !json.Valid(body) {
		return deepstreamLogin{}, false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return deepstreamLogin{}, false
	}
	obj := func(raw json.RawMessage) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
			return nil
		}
		return m
	}
	var out deepstreamLogin
	if c, ok := obj(obj(top["connectionData"])["headers"])["cookie"]; ok && string(c) != "null" {
		if json.Unmarshal(c, &out.Cookie) != nil {
			return deepstreamLogin{}, false
		}
	}
	if ra, ok := obj(top["connectionData"])["remoteAddress"]; ok && string(ra) != "null" {
		var s string
		if json.Unmarshal(ra, &s) == nil {
			out.RemoteAddress = s
		}
	}
	ad := top["authData"]
	if len(ad) == 0 || string(ad) == "null" {
		out.AuthDataEmpty = true
		return out, true
	}
	m := obj(ad)
	if m == nil {
		return deepstreamLogin{}, false
	}
	out.AuthDataEmpty = len(m) == 0
	if tok, ok := m["token"]; ok {
		out.HasToken = true
		if json.Unmarshal(tok, &out.Token) != nil || out.Token == "" {
			return deepstreamLogin{}, false
		}
	}
	return out, true
}

// FuzzDeepstreamScanner checks the one-pass scanner against encoding/json.
func FuzzDeepstreamScanner(f *testing.F) {
	for _, s := range []string{
		dsBody(map[string]any{"token": "abc"}, "gatehouse=x"), dsBody(nil, "a"),
		`{"authData":{"token":"a"},"authData":{}}`, `{"connectionData":{"headers":{"cookie":"a"}},"connectionData":1}`,
		`{"auth\u0044ata":{"token":"x"}}`, `{"a":[1,-0.5e+3,true,false,null,"\u00e9\n"]}`, `{"a":01}`, `{"a":"\x01"}`,
		`{"authData":{"token":"x","token":"y"}}`, "{\"a\":\"\xff\"}", ` { } `, `{}x`, `[[[]]]`, `{"a":1.}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseDeepstreamLogin(body)
		want, ok := refParseDeepstream(body)
		if (err == nil) != ok {
			t.Fatalf("scanner ok=%v (%v), encoding/json ok=%v, for %q", err == nil, err, ok, body)
		}
		if ok && got != want {
			t.Fatalf("scanner %+v, encoding/json %+v, for %q", got, want, body)
		}
	})
}

// V5: every credential-less login mints an anonymous identity; one address
// gets no more than the anonymous budget (shared with /token/anonymous),
// keyed by the client's address deepstream reports. Logins with a
// credential are not counted.
func TestDeepstreamAnonymousIsRateLimited(t *testing.T) {
	limit := httpx.NewRateLimiter(3, time.Minute, nil)
	r := newRig(t, rigOpts{anonymous: true, enabled: true, limit: limit})
	from := func(ip string) string {
		b, _ := json.Marshal(map[string]any{"connectionData": map[string]any{"headers": map[string]any{}, "remoteAddress": ip}, "authData": map[string]any{}})
		return string(b)
	}
	for i := range 3 {
		if rec := r.deepstream(from("203.0.113.9")); rec.Code != 200 {
			t.Fatalf("anonymous login %d: %d", i, rec.Code)
		}
	}
	rec := r.deepstream(from("203.0.113.9"))
	if rec.Code != 429 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("4th anonymous login from one address: %d %q", rec.Code, rec.Body)
	}
	if rec := r.deepstream(from("203.0.113.10")); rec.Code != 200 {
		t.Fatalf("another address: %d", rec.Code)
	}
	if rec := r.deepstream(dsBody(map[string]any{"token": r.Mint(t, frontstest.Ada, 0)}, "")); rec.Code != 200 {
		t.Fatalf("a token login is not limited: %d", rec.Code)
	}
}
