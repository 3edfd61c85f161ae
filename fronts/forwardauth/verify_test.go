package forwardauth_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"gatehouse/authn/authntest"
	"gatehouse/fronts/forwardauth"
	"gatehouse/internal/httpx"
	"gatehouse/policy"
)

type nopMetrics struct{}

func (nopMetrics) Decision(string, string) {}

func rig(t *testing.T) (*authntest.Rig, http.Handler) {
	t.Helper()
	r := authntest.New(t, authntest.Config{Policy: policy.Config{
		Anonymous: policy.Rule{Subscribe: []string{"news"}},
		Rules:     []policy.Rule{{When: policy.Condition{Role: []string{"admin"}}, Subscribe: []string{"*"}, Publish: []string{"*"}}},
	}})
	f, err := forwardauth.New(forwardauth.Config{PublicURL: "https://gh.example", PassToken: true, Anonymous: true}, r.Resolver, r.Issuer, nopMetrics{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return r, httpx.Mux(f.Routes(), func(*http.Request) string { return "192.0.2.1" })
}

func do(h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestVerify(t *testing.T) {
	r, h := rig(t)
	ada := policy.Identity{Subject: "ada", Email: "ada@example.com", Roles: []string{"member"}, Groups: []string{"eng", "ops"}}
	bearer := "Bearer " + r.Mint(t, ada, 0)
	rec := do(h, "GET", "/auth/verify", "Authorization", bearer)
	if rec.Code != 200 || rec.Header().Get("X-Auth-Request-User") != "ada" || rec.Header().Get("X-Auth-Request-Groups") != "eng,ops" ||
		rec.Header().Get("X-Auth-Request-Email") != "ada@example.com" || rec.Header().Get("X-Auth-Request-Access-Token") == "" {
		t.Fatalf("verified: %d %v", rec.Code, rec.Header())
	}
	if rec := do(h, "GET", "/auth/verify?allowed_roles=admin,owner", "Authorization", bearer); rec.Code != 403 {
		t.Errorf("missing role: %d", rec.Code)
	}
	if rec := do(h, "GET", "/auth/verify?allowed_groups=ops", "Authorization", bearer); rec.Code != 200 {
		t.Errorf("one of the groups: %d", rec.Code)
	}
	for name, hdr := range map[string][]string{
		"nothing":    nil,
		"garbage":    {"Authorization", "Bearer x.y.z"},
		"basic":      {"Authorization", "Basic eDp5"},
		"bad cookie": {"Cookie", "gatehouse=forged"},
	} {
		rec := do(h, "GET", "/auth/verify", hdr...)
		if rec.Code != 401 || rec.Header().Get("X-Auth-Request-User") != "" {
			t.Errorf("%s: %d %v", name, rec.Code, rec.Header())
		}
	}
}

// The login URL carries the original request safely encoded, and nothing
// that is not an absolute http(s) URL.
func TestVerifyLoginURL(t *testing.T) {
	_, h := rig(t)
	for orig, want := range map[string]string{
		"https://app.example/a?b=1&c=2": "https://gh.example/login?return_to=" + url.QueryEscape("https://app.example/a?b=1&c=2"),
		"javascript:alert(1)":           "https://gh.example/login",
		"//evil.example/x":              "https://gh.example/login",
		"":                              "https://gh.example/login",
	} {
		rec := do(h, "GET", "/auth/verify", "X-Original-URL", orig)
		if got := rec.Header().Get("X-Auth-Request-Redirect"); got != want {
			t.Errorf("%q: %q, want %q", orig, got, want)
		}
	}
	// X-Original-URI + X-Forwarded-Host, as oauth2-proxy recipes send.
	rec := do(h, "GET", "/auth/verify", "X-Original-URI", "/app/?x=1", "X-Forwarded-Host", "app.example", "X-Forwarded-Proto", "https")
	if got := rec.Header().Get("X-Auth-Request-Redirect"); !strings.HasSuffix(got, url.QueryEscape("https://app.example/app/?x=1")) {
		t.Errorf("from X-Original-URI: %q", got)
	}
}

func TestNchan(t *testing.T) {
	r, h := rig(t)
	admin := "Bearer " + r.Mint(t, policy.Identity{Subject: "root", Roles: []string{"admin"}}, 0)
	for _, tc := range []struct {
		name string
		hdr  []string
		code int
	}{
		{"anonymous subscribe news", []string{"X-Channel-Id", "news"}, 204},
		{"anonymous subscribe secret", []string{"X-Channel-Id", "secret"}, 403},
		{"anonymous publish news", []string{"X-Channel-Id", "news", "X-Publisher-Type", "http"}, 403},
		{"anonymous publish by method", []string{"X-Channel-Id", "news", "X-Original-Method", "POST"}, 403},
		{"admin publish", []string{"X-Channel-Id", "news", "X-Publisher-Type", "http", "Authorization", admin}, 204},
		{"no channel", nil, 403},
		{"bad channel", []string{"X-Channel-Id", "a b"}, 403},
		{"bad token", []string{"X-Channel-Id", "news", "Authorization", "Bearer nope"}, 401},
	} {
		if rec := do(h, "GET", "/webhooks/nchan", tc.hdr...); rec.Code != tc.code {
			t.Errorf("%s: %d, want %d", tc.name, rec.Code, tc.code)
		}
	}
}
