package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/oidc/oidctest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type revokedSet map[string]bool

func (r revokedSet) Revoked(sid string) bool { return r[sid] }

func testKeys() ([]byte, []byte) {
	return []byte(strings.Repeat("h", 64)), []byte(strings.Repeat("b", 32))
}

type fixture struct {
	rp      *RP
	idp     *oidctest.Provider
	clock   *clock
	revoked revokedSet
}

func newFixture(t *testing.T, mod ...func(*Config)) *fixture {
	t.Helper()
	idp := oidctest.New()
	t.Cleanup(idp.Close)
	clk := &clock{t: time.Now()}
	idp.Now = clk.Now
	h, b := testKeys()
	cfg := Config{
		PublicURL: "https://rt.example.com",
		Providers: []ProviderConfig{{
			Name: "test", Issuer: idp.Issuer, ClientID: oidctest.ClientID, ClientSecret: oidctest.ClientSecret,
			InsecureAllowHTTP: true,
		}},
		RedirectAllowlist: []string{"https://app.example.com"},
		Session:           SessionConfig{CookieName: "__Host-gatehouse", HashKeys: [][]byte{h}, BlockKeys: [][]byte{b}, MaxAge: 12 * time.Hour, IdleTimeout: time.Hour},
		Now:               clk.Now,
	}
	for _, m := range mod {
		m(&cfg)
	}
	rev := revokedSet{}
	rp, err := New(cfg, rev, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rp.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &fixture{rp: rp, idp: idp, clock: clk, revoked: rev}
}

// start begins a login and returns the callback request the browser would
// make after the provider issued a code.
func (f *fixture) start(t *testing.T) *http.Request {
	t.Helper()
	ls, err := f.rp.BeginLogin(context.Background(), "", "/account")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(ls.URL)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != "https://rt.example.com/auth/callback" {
		t.Fatalf("authorize URL %s", ls.URL)
	}
	code := f.idp.IssueCode(q.Get("nonce"), q.Get("code_challenge"))
	r := httptest.NewRequest(http.MethodGet, "/auth/callback?code="+code+"&state="+q.Get("state"), nil)
	r.AddCookie(ls.Cookie)
	return r
}

func (f *fixture) login(t *testing.T) (CallbackResult, error) {
	t.Helper()
	return f.rp.Callback(context.Background(), f.start(t))
}

func TestLoginSucceeds(t *testing.T) {
	f := newFixture(t)
	res, err := f.login(t)
	if err != nil {
		t.Fatal(err)
	}
	if res.ReturnTo != "/account" || res.Session.Subject != "alice" || res.Session.Provider != "test" {
		t.Fatalf("result %+v", res)
	}
	sc := res.Cookies[len(res.Cookies)-1]
	if !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Name != "__Host-gatehouse" {
		t.Fatalf("cookie attributes %+v", sc)
	}
	if clear := res.Cookies[0]; clear.MaxAge >= 0 || !strings.HasPrefix(clear.Name, "__Host-gh_login_") {
		t.Fatalf("login cookie not cleared: %+v", clear)
	}
	r := httptest.NewRequest(http.MethodGet, "/auth/me", nil)
	r.AddCookie(sc)
	id, exp, ok, err := f.rp.Sessions().Identity(r)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if id.Subject != "alice" || id.Email != "alice@example.com" || id.Roles[0] != "member" || id.Groups[0] != "/org/team" || id.SessionID != res.Session.ID {
		t.Fatalf("identity %+v", id)
	}
	if len(id.SessionID) != 22 {
		t.Fatalf("sid %q is not 128 bits", id.SessionID)
	}
	if !exp.Equal(time.Unix(f.clock.Now().Add(12*time.Hour).Unix(), 0)) {
		t.Fatalf("expires %v", exp)
	}
}

func TestIDTokenChecks(t *testing.T) {
	tests := []struct {
		name string
		set  func(p *oidctest.Provider)
	}{
		{"wrong iss", func(p *oidctest.Provider) { p.Mutate = func(c map[string]any) { c["iss"] = "https://evil.example" } }},
		{"wrong aud", func(p *oidctest.Provider) { p.Mutate = func(c map[string]any) { c["aud"] = "someone-else" } }},
		{"extra aud without azp", func(p *oidctest.Provider) {
			p.Mutate = func(c map[string]any) { c["aud"] = []any{oidctest.ClientID, "other"} }
		}},
		{"foreign azp", func(p *oidctest.Provider) { p.Mutate = func(c map[string]any) { c["azp"] = "other" } }},
		{"missing iat", func(p *oidctest.Provider) { p.Mutate = func(c map[string]any) { delete(c, "iat") } }},
		{"iat in the future", func(p *oidctest.Provider) {
			p.Mutate = func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() }
		}},
		{"missing sub", func(p *oidctest.Provider) { p.Mutate = func(c map[string]any) { delete(c, "sub") } }},
		{"wrong nonce", func(p *oidctest.Provider) { p.Mutate = func(c map[string]any) { c["nonce"] = "other" } }},
		{"missing nonce", func(p *oidctest.Provider) { p.Mutate = func(c map[string]any) { delete(c, "nonce") } }},
		{"expired", func(p *oidctest.Provider) {
			p.Mutate = func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }
		}},
		{"bad signature", func(p *oidctest.Provider) { p.SignWithOther = true }},
		{"alg none", func(p *oidctest.Provider) { p.SignNone = true }},
		{"userinfo sub differs", func(p *oidctest.Provider) { p.UserInfoSub = "mallory" }},
		{"at_hash mismatch", func(p *oidctest.Provider) {
			p.Mutate = func(c map[string]any) { c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.idp.Lock(tt.set)
			res, err := f.login(t)
			if !errors.Is(err, ErrLoginFailed) {
				t.Fatalf("err = %v, want ErrLoginFailed", err)
			}
			if res.Session != nil || len(res.Cookies) != 1 {
				t.Fatalf("a failed login set a session: %+v", res)
			}
		})
	}
}

func TestStateTamperingAndReplay(t *testing.T) {
	f := newFixture(t)
	t.Run("replayed callback", func(t *testing.T) {
		r := f.start(t)
		if _, err := f.rp.Callback(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		r2 := r.Clone(context.Background())
		if _, err := f.rp.Callback(context.Background(), r2); !errors.Is(err, ErrLoginFailed) {
			t.Fatalf("replay err = %v", err)
		}
	})
	t.Run("state of another attempt", func(t *testing.T) {
		r := f.start(t)
		other := f.start(t)
		q := r.URL.Query()
		q.Set("state", other.URL.Query().Get("state"))
		r.URL.RawQuery = q.Encode()
		if _, err := f.rp.Callback(context.Background(), r); !errors.Is(err, ErrLoginFailed) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("tampered login cookie", func(t *testing.T) {
		r := f.start(t)
		c, _ := r.Cookie(r.Cookies()[0].Name)
		r.Header.Del("Cookie")
		v := []byte(c.Value)
		v[len(v)/2] ^= 1
		r.AddCookie(&http.Cookie{Name: c.Name, Value: string(v)})
		if _, err := f.rp.Callback(context.Background(), r); !errors.Is(err, ErrLoginFailed) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("malformed state", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/auth/callback?code=x&state=..%2F", nil)
		if _, err := f.rp.Callback(context.Background(), r); !errors.Is(err, ErrLoginFailed) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("too old", func(t *testing.T) {
		r := f.start(t)
		f.clock.Add(DefaultLoginTTL + time.Minute)
		if _, err := f.rp.Callback(context.Background(), r); !errors.Is(err, ErrLoginFailed) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("provider error", func(t *testing.T) {
		r := f.start(t)
		q := r.URL.Query()
		q.Del("code")
		q.Set("error", "access_denied")
		r.URL.RawQuery = q.Encode()
		res, err := f.rp.Callback(context.Background(), r)
		if !errors.Is(err, ErrLoginFailed) || res.ProviderError != "access_denied" {
			t.Fatalf("err = %v, res %+v", err, res)
		}
	})
	t.Run("two tabs", func(t *testing.T) {
		a, b := f.start(t), f.start(t)
		if _, err := f.rp.Callback(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if _, err := f.rp.Callback(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	})
}

// A provider that starts signing with a new key publishes it at the same
// moment; the next login must succeed at once, not after the refetch
// interval (the OpenID RP certification's rotation tests expect it).
func TestKeyRotationLoginSucceedsAtOnce(t *testing.T) {
	f := newFixture(t)
	if _, err := f.login(t); err != nil {
		t.Fatal(err)
	}
	if n := f.idp.JWKSHits(); n != 1 {
		t.Fatalf("jwks fetched %d times", n)
	}
	f.idp.Rotate("k2")
	if _, err := f.login(t); err != nil {
		t.Fatalf("login right after rotation: %v", err)
	}
	if n := f.idp.JWKSHits(); n != 2 {
		t.Fatalf("jwks fetched %d times, want 2", n)
	}
	// A key of another algorithm, added and used at once.
	f.idp.AddRSAKey("r1")
	if _, err := f.login(t); err != nil {
		t.Fatalf("login right after an RS256 key was added: %v", err)
	}
	if n := f.idp.JWKSHits(); n != 3 {
		t.Fatalf("jwks fetched %d times, want 3", n)
	}
	// A known key verifies without a fetch.
	if _, err := f.login(t); err != nil || f.idp.JWKSHits() != 3 {
		t.Fatalf("steady login: %v, %d fetches", err, f.idp.JWKSHits())
	}
}

// Logins waiting on the same rotation share one fetch.
func TestKeyRotationRefetchIsSingleFlight(t *testing.T) {
	f := newFixture(t)
	if _, err := f.login(t); err != nil {
		t.Fatal(err)
	}
	f.idp.Rotate("k2")
	reqs := make([]*http.Request, 16)
	for i := range reqs {
		reqs[i] = f.start(t)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(reqs))
	for _, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.rp.Callback(context.Background(), r)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent login after rotation: %v", err)
		}
	}
	// 1 initial fetch; the rotated kid costs at most one per concurrent
	// wave: a waiter that arrives after the refetch finds the key.
	if n := f.idp.JWKSHits(); n != 2 {
		t.Fatalf("jwks fetched %d times for 16 concurrent logins, want 2", n)
	}
}

// Tokens that third parties present (RFC 8693 subject tokens, logout
// tokens) keep the refetch rate limit: invented kids cost at most one fetch
// per interval, however many arrive.
func TestThirdPartyKidsRefetchBounded(t *testing.T) {
	f := newFixture(t)
	if _, err := f.login(t); err != nil {
		t.Fatal(err)
	}
	base := f.idp.JWKSHits()
	for i := range 1000 {
		tok := f.idp.SignWithHeader(f.idp.IDTokenClaims(""), map[string]any{"kid": fmt.Sprintf("made-up-%d", i)})
		if _, _, err := f.rp.VerifySubjectToken(context.Background(), TokenTypeIDToken, tok, ""); err == nil {
			t.Fatal("a token with an invented kid verified")
		}
	}
	if n := f.idp.JWKSHits() - base; n > 1 {
		t.Fatalf("1000 invented kids caused %d fetches within one interval", n)
	}
	f.clock.Add(DefaultKeyRefetchInterval + time.Second)
	for i := range 1000 {
		tok := f.idp.SignWithHeader(f.idp.IDTokenClaims(""), map[string]any{"kid": fmt.Sprintf("again-%d", i)})
		_, _, _ = f.rp.VerifySubjectToken(context.Background(), TokenTypeIDToken, tok, "")
	}
	if n := f.idp.JWKSHits() - base; n > 2 {
		t.Fatalf("two intervals of invented kids caused %d fetches", n)
	}
	// A subject token signed after a rotation is still refused until the
	// interval passes: third parties cannot force a fetch.
	f.idp.Rotate("k9")
	before := f.idp.JWKSHits()
	tok := f.idp.Sign(f.idp.IDTokenClaims(""))
	if _, _, err := f.rp.VerifySubjectToken(context.Background(), TokenTypeIDToken, tok, ""); err == nil {
		t.Fatal("subject token with a new kid forced a refetch within the interval")
	}
	if f.idp.JWKSHits() != before {
		t.Fatal("a subject token forced a fetch")
	}
}

func TestUnavailableProvider(t *testing.T) {
	idp := oidctest.New()
	defer idp.Close()
	idp.Lock(func(p *oidctest.Provider) { p.Down = true })
	h, b := testKeys()
	rp, err := New(Config{
		PublicURL:      "http://127.0.0.1:1",
		Providers:      []ProviderConfig{{Name: "down", Issuer: idp.Issuer, ClientID: "c", InsecureAllowHTTP: true}},
		Session:        SessionConfig{CookieName: "gatehouse", HashKeys: [][]byte{h}, BlockKeys: [][]byte{b}, MaxAge: time.Hour, IdleTimeout: time.Hour},
		DiscoveryRetry: 5 * time.Millisecond,
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rp.Start(ctx)
	if err := rp.Ready("down"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("ready = %v", err)
	}
	if _, err := rp.BeginLogin(ctx, "down", "/"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("login = %v", err)
	}
	if _, err := rp.BeginLogin(ctx, "nope", "/"); !errors.Is(err, ErrUnknownProvider) {
		t.Fatalf("unknown provider = %v", err)
	}
	idp.Lock(func(p *oidctest.Provider) { p.Down = false })
	deadline := time.Now().Add(5 * time.Second)
	for rp.Ready("down") != nil {
		if time.Now().After(deadline) {
			t.Fatal("discovery never retried")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLogout(t *testing.T) {
	f := newFixture(t)
	res, err := f.login(t)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/auth/logout", nil)
	r.AddCookie(res.Cookies[1])
	out, err := f.rp.Logout(context.Background(), r, "/bye")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(out.Redirect)
	q := u.Query()
	if !strings.HasPrefix(out.Redirect, f.idp.Issuer+"/logout?") || q.Get("id_token_hint") == "" ||
		q.Get("post_logout_redirect_uri") != "https://rt.example.com/bye" {
		t.Fatalf("redirect %s", out.Redirect)
	}
	if out.SessionID != res.Session.ID || out.Cookie.MaxAge >= 0 {
		t.Fatalf("result %+v", out)
	}
	// The provider login goes too: its session and the ID token that
	// travelled in the logout URL can buy nothing afterwards.
	if want := []string{idpSessionKey("test", "idp-sid-1"), idTokenKey(q.Get("id_token_hint"))}; strings.Join(out.Logins, " ") != strings.Join(want, " ") {
		t.Fatalf("logins revoked %q, want %q", out.Logins, want)
	}
	if _, err := f.rp.Logout(context.Background(), r, "//evil.example"); !errors.Is(err, ErrBadReturnTo) {
		t.Fatalf("bad return_to = %v", err)
	}
	f.idp.Lock(func(p *oidctest.Provider) { p.NoEndSession = true })
	g := newFixture(t)
	g.idp.Lock(func(p *oidctest.Provider) { p.NoEndSession = true })
	_ = g.rp.Discover(context.Background())
	res2, err := g.login(t)
	if err != nil {
		t.Fatal(err)
	}
	r2 := httptest.NewRequest(http.MethodPost, "/auth/logout", nil)
	r2.AddCookie(res2.Cookies[1])
	out2, _ := g.rp.Logout(context.Background(), r2, "/bye")
	if out2.Redirect != "/bye" {
		t.Fatalf("without end_session: %s", out2.Redirect)
	}
}
