package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/issuer"
	"gatehouse/oidc"
	"gatehouse/oidc/oidctest"
	"gatehouse/policy"
	"gatehouse/revocation"
)

const authOrigin = "http://127.0.0.1:8080"

// authRig is the /auth routes, the pages and /token over a real relying
// party talking to an httptest provider.
type authRig struct {
	handler http.Handler
	idp     *oidctest.Provider
	rp      *oidc.RP
	issuer  *issuer.Issuer
	revoked *revocation.Memory
	policy  *policy.Engine
	tokens  *Token
	mu      sync.Mutex
	revokes []string
}

func newAuthRig(t *testing.T) *authRig {
	t.Helper()
	idp := oidctest.New()
	t.Cleanup(idp.Close)
	rig := &authRig{idp: idp, revoked: revocation.NewMemory(nil)}
	rp, err := oidc.New(oidc.Config{
		PublicURL: authOrigin,
		Providers: []oidc.ProviderConfig{{Name: "test", Issuer: idp.Issuer, ClientID: oidctest.ClientID,
			ClientSecret: oidctest.ClientSecret, InsecureAllowHTTP: true}},
		RedirectAllowlist: []string{"https://app.example.com"},
		Session: oidc.SessionConfig{CookieName: "gatehouse", HashKeys: [][]byte{[]byte(strings.Repeat("h", 32))},
			BlockKeys: [][]byte{[]byte(strings.Repeat("b", 32))}, MaxAge: time.Hour, IdleTimeout: time.Hour},
	}, rig.revoked, discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := rp.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	rig.rp = rp
	iss, err := issuer.New(issuer.Config{Issuer: authOrigin, Audience: "realtime", Revocations: rig.revoked}, fixedKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	rig.issuer = iss
	yes := true
	pol, err := policy.New(policy.Config{
		Anonymous: policy.Rule{Subscribe: []string{"public-*"}},
		Rules: []policy.Rule{{When: policy.Condition{Authenticated: &yes},
			Subscribe: []string{"public-*", "private-chat", "private-user-{sub}"}, Publish: []string{"private-chat"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	auth, err := NewAuth(AuthConfig{Revocations: recordingRevoker{rig}}, rp, discard)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := NewToken(TokenConfig{Origin: authOrigin}, rp.Sessions(), rp, iss, pol, m, discard)
	if err != nil {
		t.Fatal(err)
	}
	rig.policy, rig.tokens = pol, tok
	rig.handler, err = NewRouter(ServerConfig{}, m, discard, auth, NewPages(rp, discard), tok)
	if err != nil {
		t.Fatal(err)
	}
	return rig
}

// recordingRevoker records the revocations of the rig before making them.
type recordingRevoker struct{ rig *authRig }

func (r recordingRevoker) Revoke(ctx context.Context, sid string, until time.Time) error {
	r.rig.mu.Lock()
	r.rig.revokes = append(r.rig.revokes, sid)
	r.rig.mu.Unlock()
	return r.rig.revoked.Revoke(ctx, sid, until)
}

func (r *authRig) do(method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, req)
	return rec
}

func cookieOf(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name || strings.HasPrefix(c.Name, name) && strings.HasSuffix(name, "_") {
			return c
		}
	}
	return nil
}

// login runs /auth/login and /auth/callback and returns the session cookie.
func (r *authRig) login(t *testing.T) *http.Cookie {
	t.Helper()
	rec := r.do("GET", "/auth/login?return_to=%2Fwelcome", "")
	if rec.Code != http.StatusFound {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	u, _ := url.Parse(rec.Header().Get("Location"))
	q := u.Query()
	code := r.idp.IssueCode(q.Get("nonce"), q.Get("code_challenge"))
	lc := cookieOf(rec, "gh_login_")
	rec = r.do("GET", "/auth/callback?code="+code+"&state="+q.Get("state"), "", "Cookie", lc.Name+"="+lc.Value)
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/welcome" {
		t.Fatalf("callback: %d %s", rec.Code, rec.Body)
	}
	sc := cookieOf(rec, "gatehouse")
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v", sc)
	}
	return sc
}

func TestAuthLoginReturnTo(t *testing.T) {
	rig := newAuthRig(t)
	for _, rt := range []string{"//evil.com", "/\\evil.com", "https://evil.com/", "/%2F%2Fevil.com", "javascript:alert(1)", "/a\tb"} {
		t.Run(rt, func(t *testing.T) {
			rec := rig.do("GET", "/auth/login?return_to="+url.QueryEscape(rt), "")
			if rec.Code != http.StatusBadRequest || cookieOf(rec, "gh_login_") != nil {
				t.Fatalf("%q: %d", rt, rec.Code)
			}
		})
	}
	if rec := rig.do("GET", "/auth/login?provider=nope", ""); rec.Code != http.StatusBadRequest {
		t.Fatalf("unknown provider: %d", rec.Code)
	}
	rec := rig.do("GET", "/auth/login?return_to="+url.QueryEscape("https://app.example.com/x"), "")
	if rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), rig.idp.Issuer+"/authorize?") {
		t.Fatalf("allow-listed: %d %s", rec.Code, rec.Header().Get("Location"))
	}
}

func TestAuthCallbackErrors(t *testing.T) {
	rig := newAuthRig(t)
	rec := rig.do("GET", "/auth/callback?error=access_denied&state=AAAAAAAAAAAAAAAAAAAAAA", "")
	if rec.Code != http.StatusBadRequest || cookieOf(rec, "gatehouse") != nil || !strings.Contains(rec.Body.String(), "<h1") {
		t.Fatalf("error callback: %d %s", rec.Code, rec.Body)
	}
	if csp := rec.Header().Get("Content-Security-Policy"); csp == "" || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("csp %q", csp)
	}
}

func TestAuthMeAndLogout(t *testing.T) {
	rig := newAuthRig(t)
	sc := rig.login(t)
	ck := "gatehouse=" + sc.Value
	rec := rig.do("GET", "/auth/me", "", "Cookie", ck)
	var me map[string]any
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &me) != nil || me["sub"] != "alice" || me["provider"] != "test" {
		t.Fatalf("me: %d %s", rec.Code, rec.Body)
	}
	for _, k := range []string{"sub", "name", "email", "roles", "groups", "provider", "sid", "expires_at"} {
		if _, ok := me[k]; !ok {
			t.Fatalf("me lacks %s: %s", k, rec.Body)
		}
	}
	if rec := rig.do("GET", "/auth/me", ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("me without session: %d", rec.Code)
	}
	if rec := rig.do("GET", "/account", "", "Cookie", ck); rec.Code != 200 || !strings.Contains(rec.Body.String(), "alice") {
		t.Fatalf("account: %d", rec.Code)
	}
	// CSRF: a cross-origin logout is refused and the session lives on.
	for _, hdr := range [][]string{{"Origin", "https://evil.example"}, {"Sec-Fetch-Site", "cross-site"}, {}} {
		rec := rig.do("POST", "/auth/logout", "return_to=%2F", append([]string{"Cookie", ck}, hdr...)...)
		if rec.Code != http.StatusForbidden {
			t.Fatalf("logout %v: %d", hdr, rec.Code)
		}
	}
	if rec := rig.do("GET", "/auth/me", "", "Cookie", ck); rec.Code != 200 {
		t.Fatal("session died from a refused logout")
	}
	rec = rig.do("POST", "/auth/logout", "return_to=%2Fbye", "Cookie", ck, "Origin", authOrigin)
	loc := rec.Header().Get("Location")
	if rec.Code != http.StatusFound || !strings.HasPrefix(loc, rig.idp.Issuer+"/logout?") ||
		!strings.Contains(loc, "post_logout_redirect_uri="+url.QueryEscape(authOrigin+"/bye")) || !strings.Contains(loc, "id_token_hint=") {
		t.Fatalf("logout: %d %s", rec.Code, loc)
	}
	if c := cookieOf(rec, "gatehouse"); c == nil || c.MaxAge >= 0 {
		t.Fatal("session cookie not cleared")
	}
	// The old cookie replayed by hand is dead everywhere.
	if rec := rig.do("GET", "/auth/me", "", "Cookie", ck); rec.Code != http.StatusUnauthorized {
		t.Fatalf("replayed cookie on /auth/me: %d", rec.Code)
	}
	if rec := rig.do("POST", "/token", "", "Cookie", ck, "Origin", authOrigin); rec.Code != http.StatusUnauthorized {
		t.Fatalf("replayed cookie on /token: %d", rec.Code)
	}
}

func TestAuthBackchannelLogout(t *testing.T) {
	rig := newAuthRig(t)
	sc := rig.login(t)
	now := time.Now()
	claims := map[string]any{"iss": rig.idp.Issuer, "aud": oidctest.ClientID, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		"jti": "j", "sid": "idp-sid-1", "events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}}
	bad := map[string]any{}
	for k, v := range claims {
		bad[k] = v
	}
	bad["nonce"] = "x"
	rec := rig.do("POST", "/auth/backchannel-logout", "logout_token="+rig.idp.Sign(bad))
	if rec.Code != http.StatusBadRequest || decodeError(t, rec).Error != "invalid_request" {
		t.Fatalf("bad token: %d %s", rec.Code, rec.Body)
	}
	if rec := rig.do("POST", "/auth/backchannel-logout", "logout_token="+rig.idp.Sign(claims)); rec.Code != http.StatusOK {
		t.Fatalf("good token: %d %s", rec.Code, rec.Body)
	}
	if rec := rig.do("GET", "/auth/me", "", "Cookie", "gatehouse="+sc.Value); rec.Code != http.StatusUnauthorized {
		t.Fatalf("session survived back-channel logout: %d", rec.Code)
	}
}
