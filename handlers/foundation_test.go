package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/authn/authntest"
	"gatehouse/internal/httpx"
	"gatehouse/issuer"
	"gatehouse/keys"
	"gatehouse/policy"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

var discard = slog.New(slog.DiscardHandler)

// fixedKeys loads the committed test keys, so golden documents are stable.
func fixedKeys(t testing.TB) *keys.Set {
	return authntest.TestKeys(t, keys.ES256, keys.EdDSA, keys.ES512)
}

type foundation struct {
	handler http.Handler
	issuer  *issuer.Issuer
	now     *time.Time
}

func newFoundation(t testing.TB, anon AnonymousConfig, extra ...Mounter) *foundation {
	t.Helper()
	return newFoundationRate(t, anon, 30, extra...)
}

// newFoundationRate is newFoundation with perIP anonymous tokens per client
// address and minute.
func newFoundationRate(t testing.TB, anon AnonymousConfig, perIP int, extra ...Mounter) *foundation {
	t.Helper()
	now := time.Unix(1_800_000_000, 0)
	f := &foundation{now: &now}
	iss, err := issuer.New(issuer.Config{Issuer: "http://127.0.0.1:8080", Audience: "realtime", Now: func() time.Time { return *f.now }}, fixedKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	f.issuer = iss
	pol, err := policy.New(policy.Config{Anonymous: policy.Rule{Subscribe: []string{"public-*"}}})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	wk, err := NewWellKnown(iss, "http://127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	an, err := NewAnonymous(anon, iss, pol, httpx.NewRateLimiter(perIP, time.Minute, iss.Now), m, discard)
	if err != nil {
		t.Fatal(err)
	}
	groups := append([]Mounter{&Health{Metrics: m}, wk, an}, extra...)
	f.handler, err = NewRouter(ServerConfig{}, m, discard, groups...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var defaultAnon = AnonymousConfig{Enabled: true, TTL: 5 * time.Minute, Algorithms: []string{"ES256", "EdDSA"}}

func (f *foundation) do(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = "192.0.2.1:1234"
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) httpx.ErrorBody {
	t.Helper()
	var e httpx.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || e.Description == "" {
		t.Fatalf("not a JSON error body: %q (%v)", rec.Body.String(), err)
	}
	return e
}

func TestAnonymousToken(t *testing.T) {
	f := newFoundation(t, defaultAnon)
	for _, tc := range []struct{ body, alg string }{{"", "ES256"}, {`{}`, "ES256"}, {`{"alg":"EdDSA"}`, "EdDSA"}} {
		rec := f.do("POST", "/token/anonymous", tc.body, "Content-Type", "application/json")
		if rec.Code != 200 {
			t.Fatalf("%q: %d %s", tc.body, rec.Code, rec.Body)
		}
		var out struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			ExpiresIn   int    `json:"expires_in"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		if out.TokenType != "Bearer" || out.ExpiresIn != 300 {
			t.Fatalf("response %+v", out)
		}
		c, err := f.issuer.Verify(out.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Anonymous || !strings.HasPrefix(c.Subject, "anon:") || c.SessionID != "" {
			t.Fatalf("claims %+v", c)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatal("token response must be no-store")
		}
		hdr, _ := json.Marshal(nil)
		_ = hdr
		if !strings.Contains(decodeHeader(t, out.AccessToken), `"alg":"`+tc.alg+`"`) {
			t.Fatalf("alg: %s", decodeHeader(t, out.AccessToken))
		}
	}
}

func decodeHeader(t *testing.T, tok string) string {
	t.Helper()
	seg := strings.SplitN(tok, ".", 2)[0]
	b, err := jsonSegment(seg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAnonymousBadInput(t *testing.T) {
	f := newFoundation(t, defaultAnon)
	tests := []struct {
		name, body string
		hdr        []string
		status     int
		code       string
	}{
		{"alg not allowed", `{"alg":"ES512"}`, nil, 400, httpx.CodeInvalidRequest},
		{"alg none", `{"alg":"none"}`, nil, 400, httpx.CodeInvalidRequest},
		{"malformed JSON", `{"alg":`, nil, 400, httpx.CodeInvalidRequest},
		{"JSON array", `[1,2]`, nil, 400, httpx.CodeInvalidRequest},
		{"unknown profile", `{"profile":"nope"}`, nil, 400, httpx.CodeInvalidRequest},
		{"body over 64 KiB", `{"alg":"` + strings.Repeat("x", 70<<10) + `"}`, nil, 413, httpx.CodeTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.do("POST", "/token/anonymous", tc.body, tc.hdr...)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if e := decodeError(t, rec); e.Error != tc.code {
				t.Fatalf("code %q, want %q", e.Error, tc.code)
			}
		})
	}
	// A chunked body (no Content-Length) over the limit is cut off too.
	req := httptest.NewRequest("POST", "/token/anonymous", io.MultiReader(strings.NewReader(`{"alg":"`), bytes.NewReader(bytes.Repeat([]byte("x"), 70<<10))))
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Fatalf("chunked oversize: %d", rec.Code)
	}
	// and the server still answers others afterwards
	if rec := f.do("POST", "/token/anonymous", ""); rec.Code != 200 {
		t.Fatalf("after bad input: %d", rec.Code)
	}
}

func TestAnonymousDisabled(t *testing.T) {
	cfg := defaultAnon
	cfg.Enabled = false
	f := newFoundation(t, cfg)
	rec := f.do("POST", "/token/anonymous", "")
	if rec.Code != 404 {
		t.Fatalf("status %d", rec.Code)
	}
	decodeError(t, rec)
}

func TestAnonymousRateLimit(t *testing.T) {
	f := newFoundationRate(t, defaultAnon, 3)
	for i := 0; i < 3; i++ {
		if rec := f.do("POST", "/token/anonymous", ""); rec.Code != 200 {
			t.Fatalf("request %d: %d", i, rec.Code)
		}
	}
	rec := f.do("POST", "/token/anonymous", "")
	if rec.Code != 429 {
		t.Fatalf("over the rate: %d", rec.Code)
	}
	if e := decodeError(t, rec); e.Error != httpx.CodeRateLimited {
		t.Fatalf("code %q", e.Error)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "20" {
		t.Fatalf("Retry-After %q, want 20 (one token per 20 s)", ra)
	}
	// X-Forwarded-For is not believed without trusted proxies.
	if rec := f.do("POST", "/token/anonymous", "", "X-Forwarded-For", "198.51.100.7"); rec.Code != 429 {
		t.Fatalf("spoofed X-Forwarded-For escaped the limit: %d", rec.Code)
	}
	// Time refills the bucket.
	*f.now = f.now.Add(20 * time.Second)
	if rec := f.do("POST", "/token/anonymous", ""); rec.Code != 200 {
		t.Fatalf("after refill: %d", rec.Code)
	}
}

func TestTrustedProxyClientIP(t *testing.T) {
	iss, _ := issuer.New(issuer.Config{Issuer: "http://x", Audience: "realtime"}, fixedKeys(t))
	pol, _ := policy.New(policy.Config{})
	m := NewMetrics()
	an, _ := NewAnonymous(defaultAnon, iss, pol, httpx.NewRateLimiter(1, time.Minute, nil), m, discard)
	h, err := NewRouter(ServerConfig{TrustedProxies: []string{"192.0.2.0/24"}}, m, discard, an)
	if err != nil {
		t.Fatal(err)
	}
	for _, client := range []string{"198.51.100.1", "198.51.100.2"} {
		req := httptest.NewRequest("POST", "/token/anonymous", nil)
		req.RemoteAddr = "192.0.2.1:1"
		req.Header.Set("X-Forwarded-For", client)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("client %s behind a trusted proxy limited with the proxy's address: %d", client, rec.Code)
		}
	}
}

func TestWellKnownGolden(t *testing.T) {
	f := newFoundation(t, defaultAnon)
	for _, tc := range []struct{ path, golden string }{
		{"/.well-known/jwks.json", "jwks.golden"},
		{"/.well-known/openid-configuration", "discovery.golden"},
	} {
		rec := f.do("GET", tc.path, "")
		if rec.Code != 200 {
			t.Fatalf("%s: %d", tc.path, rec.Code)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=300" {
			t.Fatalf("%s Cache-Control %q", tc.path, cc)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, rec.Body.Bytes(), "", "  "); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, tc.golden, pretty.Bytes())
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\n got %s\nwant %s", name, got, want)
	}
}

func TestHealthAndErrors(t *testing.T) {
	f := newFoundation(t, defaultAnon)
	if rec := f.do("GET", "/healthz", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"ok"`) {
		t.Fatalf("healthz %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/readyz", ""); rec.Code != 200 {
		t.Fatalf("readyz %d", rec.Code)
	}
	rec := f.do("GET", "/metrics", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "gatehouse_http_requests_total") {
		t.Fatalf("metrics %d", rec.Code)
	}
	rec = f.do("GET", "/nope", "")
	if rec.Code != 404 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("404: %d %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	decodeError(t, rec)
	rec = f.do("GET", "/token/anonymous", "")
	if rec.Code != 405 {
		t.Fatalf("GET on POST route: %d", rec.Code)
	}
	decodeError(t, rec)
}

type failing struct{}

func (f failing) Mount(r gin.IRouter) {
	r.GET("/panic", func(*gin.Context) { panic("boom") })
}

func TestReadyzFailingPart(t *testing.T) {
	m := NewMetrics()
	var logged bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	h, _ := NewRouter(ServerConfig{}, m, discard, &Health{Metrics: m, Log: log, Checks: []ReadyCheck{
		{Name: "oidc:auth0", Check: func(ctx contextT) error { return errors.New("oidc: discovery: connection refused") }}}}, failing{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "oidc:auth0") {
		t.Fatalf("readyz %d %s", rec.Code, rec.Body)
	}
	// The answer names the part; the log says why.
	if strings.Contains(rec.Body.String(), "refused") {
		t.Fatalf("readyz tells the cause to the client: %s", rec.Body)
	}
	if l := logged.String(); !strings.Contains(l, `"check":"oidc:auth0"`) || !strings.Contains(l, "connection refused") {
		t.Fatalf("the cause was not logged: %s", l)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/panic", nil))
	if rec.Code != 500 {
		t.Fatalf("panic: %d", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Fatal("panic detail leaked to the client")
	}
}

// Every form endpoint answers a chunked body over 64 KiB with 413, not with
// whatever an empty form would get.
func TestChunkedOversizeFormsAre413(t *testing.T) {
	rig := newAuthRig(t)
	big := func() io.Reader {
		return io.MultiReader(strings.NewReader("logout_token="), bytes.NewReader(bytes.Repeat([]byte("x"), 70<<10)))
	}
	for _, path := range []string{"/auth/logout", "/auth/backchannel-logout", "/token"} {
		req := httptest.NewRequest("POST", path, big())
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", authOrigin)
		rec := httptest.NewRecorder()
		rig.handler.ServeHTTP(rec, req)
		if rec.Code != 413 {
			t.Errorf("%s: chunked oversize answered %d", path, rec.Code)
		}
	}
}

func TestChunkedOversizeDevIDPIs413(t *testing.T) {
	m := NewMetrics()
	h, err := NewRouter(ServerConfig{}, m, discard, &DevIDP{Base: "/dev-idp", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.WriteHeader(http.StatusOK)
	})})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/dev-idp/authorize", io.MultiReader(strings.NewReader("name="), bytes.NewReader(bytes.Repeat([]byte("x"), 70<<10))))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Fatalf("chunked oversize to the dev IdP answered %d", rec.Code)
	}
}
