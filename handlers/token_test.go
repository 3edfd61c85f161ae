package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/authn"
	"gatehouse/authn/trust"
	"gatehouse/issuer"
	"gatehouse/oidc"
	"gatehouse/policy"

	"github.com/golang-jwt/jwt/v5"
)

type tokenAnswer struct {
	AccessToken     string `json:"access_token"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	IssuedTokenType string `json:"issued_token_type"`
	Scope           string `json:"scope"`
}

func (r *authRig) token(t *testing.T, form url.Values, hdr ...string) (int, tokenAnswer, string) {
	t.Helper()
	rec := r.do("POST", "/token", form.Encode(), hdr...)
	var a tokenAnswer
	_ = json.Unmarshal(rec.Body.Bytes(), &a)
	return rec.Code, a, rec.Body.String()
}

func TestTokenFromSession(t *testing.T) {
	rig := newAuthRig(t)
	ck := "gatehouse=" + rig.login(t).Value
	tests := []struct {
		name   string
		hdr    []string
		form   url.Values
		status int
		scope  string
	}{
		{"same-origin Origin", []string{"Origin", authOrigin}, nil, 200,
			"realtime:subscriber:read:topic:public-* realtime:subscriber:read:topic:private-chat realtime:subscriber:read:topic:private-user-alice realtime:publisher:write:topic:private-chat"},
		{"Sec-Fetch-Site same-origin", []string{"Sec-Fetch-Site", "same-origin"}, nil, 200, ""},
		{"cross-origin", []string{"Origin", "https://evil.example"}, nil, 403, ""},
		{"null origin", []string{"Origin", "null"}, nil, 403, ""},
		{"no origin at all", nil, nil, 403, ""},
		{"scope narrows", []string{"Origin", authOrigin},
			url.Values{"scope": {"realtime:subscriber:read:topic:private-chat realtime:publisher:write:topic:*"}}, 200,
			"realtime:subscriber:read:topic:private-chat"},
		{"scope never widens", []string{"Origin", authOrigin},
			url.Values{"scope": {"realtime:subscriber:read:topic:*"}}, 403, ""},
		{"scope of a narrower glob", []string{"Origin", authOrigin},
			url.Values{"scope": {"realtime:subscriber:read:topic:public-news-*"}}, 200,
			"realtime:subscriber:read:topic:public-news-*"},
		{"malformed scope", []string{"Origin", authOrigin}, url.Values{"scope": {"write everything"}}, 400, ""},
		{"unknown profile", []string{"Origin", authOrigin}, url.Values{"profile": {"nope"}}, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := tt.form
			if form == nil {
				form = url.Values{}
			}
			code, a, body := rig.token(t, form, append([]string{"Cookie", ck}, tt.hdr...)...)
			if code != tt.status {
				t.Fatalf("status %d, want %d: %s", code, tt.status, body)
			}
			if code != 200 {
				return
			}
			if a.TokenType != "Bearer" || a.IssuedTokenType != TokenTypeJWT || a.ExpiresIn <= 0 {
				t.Fatalf("answer %+v", a)
			}
			if tt.scope != "" && a.Scope != tt.scope {
				t.Fatalf("scope %q, want %q", a.Scope, tt.scope)
			}
			c, err := rig.issuer.Verify(a.AccessToken)
			if err != nil || c.Subject != "alice" || c.SessionID == "" || c.Anonymous {
				t.Fatalf("minted token: %+v %v", c, err)
			}
		})
	}
	if code, _, _ := rig.token(t, url.Values{}, "Origin", authOrigin); code != http.StatusUnauthorized {
		t.Fatalf("no session: %d", code)
	}
}

func TestTokenExchange(t *testing.T) {
	rig := newAuthRig(t)
	ck := "gatehouse=" + rig.login(t).Value
	_, own, _ := rig.token(t, url.Values{"scope": {"realtime:subscriber:read:topic:private-chat"}}, "Cookie", ck, "Origin", authOrigin)
	idToken := rig.idp.Sign(rig.idp.IDTokenClaims(""))
	wrongAud := rig.idp.IDTokenClaims("")
	wrongAud["aud"] = "other"
	ex := func(typ, tok string) url.Values {
		return url.Values{"grant_type": {TokenExchangeGrant}, "subject_token": {tok}, "subject_token_type": {typ}}
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
		check  func(t *testing.T, a tokenAnswer)
	}{
		{"id_token", ex(oidc.TokenTypeIDToken, idToken), 200, nil},
		{"id_token for another client", ex(oidc.TokenTypeIDToken, rig.idp.Sign(wrongAud)), 401, nil},
		{"opaque access_token", ex(oidc.TokenTypeAccessToken, rig.idp.AccessToken()), 200, nil},
		{"unknown access_token", ex(oidc.TokenTypeAccessToken, "garbage"), 401, nil},
		{"our own jwt keeps its narrower grants", ex(TokenTypeJWT, own.AccessToken), 200, func(t *testing.T, a tokenAnswer) {
			if a.Scope != "realtime:subscriber:read:topic:private-chat" {
				t.Fatalf("re-exchange widened to %q", a.Scope)
			}
		}},
		{"forged jwt", ex(TokenTypeJWT, own.AccessToken[:len(own.AccessToken)-4]+"AAAA"), 401, nil},
		{"unknown subject type", ex("urn:x", "t"), 400, nil},
		{"missing subject", url.Values{"grant_type": {TokenExchangeGrant}}, 400, nil},
		{"other grant", url.Values{"grant_type": {"password"}}, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Token exchange needs no cookie and no Origin: it is not CSRF-able.
			code, a, body := rig.token(t, tt.form, "Origin", "https://elsewhere.example")
			if code != tt.status {
				t.Fatalf("status %d, want %d: %s", code, tt.status, body)
			}
			if code == 200 {
				c, err := rig.issuer.Verify(a.AccessToken)
				if err != nil || c.Subject != "alice" {
					t.Fatal(c, err)
				}
				if tt.check != nil {
					tt.check(t, a)
				}
			} else if strings.Contains(body, "oidc:") || strings.Contains(body, "issuer:") {
				t.Fatalf("detail leaked: %s", body)
			}
		})
	}
}

// V3: a token never outlives the credential it was bought with, through any
// chain of exchanges; an ID token that travelled in a logout URL buys
// nothing afterwards.
func TestTokensNeverOutliveTheirCredential(t *testing.T) {
	rig := newAuthRig(t)
	ex := func(typ, tok string) url.Values {
		return url.Values{"grant_type": {TokenExchangeGrant}, "subject_token": {tok}, "subject_token_type": {typ}}
	}
	chain := func(t *testing.T, first string, end int64) {
		t.Helper()
		tok := first
		for i := range 3 {
			code, a, body := rig.token(t, ex(TokenTypeJWT, tok), "Origin", "https://elsewhere.example")
			if code != 200 {
				t.Fatalf("exchange %d: %d %s", i, code, body)
			}
			c, err := rig.issuer.Verify(a.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if c.ExpiresAt.Unix() > end || c.AbsoluteEnd().Unix() != end {
				t.Fatalf("exchange %d: exp %d, end %d; the credential ends at %d", i, c.ExpiresAt.Unix(), c.AbsoluteEnd().Unix(), end)
			}
			tok = a.AccessToken
		}
	}

	// An anonymous token of 20 s: its exchanges end with it.
	anon := rig.mintRaw(t, issuer.Request{Identity: policy.Identity{Subject: "anon:x", Anonymous: true}, TTL: 20 * time.Second})
	c, _ := rig.issuer.Verify(anon)
	chain(t, anon, c.ExpiresAt.Unix())

	// An operator token of 24 h: exchanges never go past its own end.
	op := rig.mintRaw(t, issuer.Request{Identity: policy.Identity{Subject: "svc"}, TTL: 24 * time.Hour, AllowLongTTL: true})
	c, _ = rig.issuer.Verify(op)
	chain(t, op, c.ExpiresAt.Unix())

	// A session's token carries the session's end (max_age 1 h here).
	ck := "gatehouse=" + rig.login(t).Value
	_, own, _ := rig.token(t, url.Values{}, "Cookie", ck, "Origin", authOrigin)
	c, _ = rig.issuer.Verify(own.AccessToken)
	if left := time.Until(c.AbsoluteEnd()); left > time.Hour || left < 50*time.Minute {
		t.Fatalf("session token end %v from now, want the session's end", left)
	}
	chain(t, own.AccessToken, c.AbsoluteEnd().Unix())

	// After logout, the ID token of the login (id_token_hint) is refused.
	rec := rig.do("POST", "/auth/logout", "return_to=%2Fbye", "Cookie", ck, "Origin", authOrigin)
	loc, _ := url.Parse(rec.Header().Get("Location"))
	hint := loc.Query().Get("id_token_hint")
	if hint == "" {
		t.Fatalf("no id_token_hint in %s", loc)
	}
	if code, _, body := rig.token(t, ex(oidc.TokenTypeIDToken, hint), "Origin", "https://elsewhere.example"); code != http.StatusUnauthorized {
		t.Fatalf("ID token of a logged-out session exchanged: %d %s", code, body)
	}
	// And a token bought with an ID token before the logout is revoked
	// with it: it carries the provider's session.
	fresh := rig.idp.Sign(rig.idp.IDTokenClaims(""))
	if code, _, _ := rig.token(t, ex(oidc.TokenTypeIDToken, fresh), "Origin", "https://elsewhere.example"); code != http.StatusUnauthorized {
		t.Fatalf("another ID token of the logged-out provider session exchanged: %d", code)
	}
}

// mintRaw mints a default-profile token directly with the rig's issuer.
func (r *authRig) mintRaw(t *testing.T, req issuer.Request) string {
	t.Helper()
	tok, err := r.issuer.Mint("", req)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Value
}

// POST /token with `Authorization: Bearer <our token>` is the short form of
// exchanging that token: same subject and session, never wider grants, no
// cookie or Origin needed; a bad bearer is refused, not replaced by the
// session cookie the same request may carry.
func TestTokenWithBearer(t *testing.T) {
	rig := newAuthRig(t)
	ck := "gatehouse=" + rig.login(t).Value
	_, own, _ := rig.token(t, url.Values{"scope": {"realtime:subscriber:read:topic:private-chat"}}, "Cookie", ck, "Origin", authOrigin)
	first, err := rig.issuer.Verify(own.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	code, a, body := rig.token(t, url.Values{}, "Authorization", "Bearer "+own.AccessToken, "Origin", "https://elsewhere.example")
	if code != 200 {
		t.Fatalf("bearer: %d %s", code, body)
	}
	c, err := rig.issuer.Verify(a.AccessToken)
	if err != nil || c.Subject != "alice" || c.SessionID != first.SessionID || c.SessionID == "" {
		t.Fatalf("claims %+v (%v), want alice in session %q", c, err, first.SessionID)
	}
	if a.Scope != "realtime:subscriber:read:topic:private-chat" {
		t.Fatalf("bearer widened to %q", a.Scope)
	}
	forged := own.AccessToken[:len(own.AccessToken)-4] + "AAAA"
	if code, _, body := rig.token(t, url.Values{}, "Authorization", "Bearer "+forged, "Cookie", ck, "Origin", authOrigin); code != 401 {
		t.Fatalf("forged bearer beside a good cookie: %d %s", code, body)
	}
}

// A trusted issuer enabled on the exchange front: its token buys one of
// ours, never wider than its grants and never past its exp; a token of an
// issuer not enabled there stays refused.
func TestTokenExchangeOfTrustedIssuer(t *testing.T) {
	rig := newAuthRig(t)
	secret := []byte(strings.Repeat("x", 32))
	v, err := trust.New(trust.Config{Name: "svc", Issuers: []string{"https://svc.test/"}, Secret: secret, Algorithms: []string{"HS256"}}, trust.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := authn.NewResolver(rig.issuer, rig.policy, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	res.Configure(map[string][]*authn.External{authn.FrontExchange: {{Verifier: v, Grants: authn.GrantsToken}}}, nil)
	rig.tokens.TrustExternal(res.For(authn.FrontExchange))
	exp := time.Now().Add(2 * time.Minute)
	sign := func(iss string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"iss": iss, "sub": "svc-1", "exp": exp.Unix(), "permissions": []string{"realtime:subscriber:read:topic:feed"},
		}).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	form := func(tok, typ string) url.Values {
		return url.Values{"grant_type": {TokenExchangeGrant}, "subject_token": {tok}, "subject_token_type": {typ}}
	}
	for _, typ := range []string{TokenTypeJWT, oidc.TokenTypeAccessToken} {
		code, a, body := rig.token(t, form(sign("https://svc.test/"), typ))
		if code != 200 {
			t.Fatalf("%s: %d %s", typ, code, body)
		}
		c, err := rig.issuer.Verify(a.AccessToken)
		if err != nil || c.Subject != "svc-1" || c.Provider != "svc" || a.Scope != "realtime:subscriber:read:topic:feed" {
			t.Fatalf("%s: %+v %v scope %q", typ, c, err, a.Scope)
		}
		if c.ExpiresAt.After(exp) {
			t.Fatalf("outlives the subject token: %v > %v", c.ExpiresAt, exp)
		}
	}
	if code, _, body := rig.token(t, form(sign("https://other.test/"), TokenTypeJWT)); code != 401 {
		t.Fatalf("issuer not trusted: %d %s", code, body)
	}
}

// SPEC's /token answer always has its five fields: scope too, empty when
// the policy grants the caller nothing.
func TestTokenAnswerFields(t *testing.T) {
	rig := newAuthRig(t)
	ck := "gatehouse=" + rig.login(t).Value
	nothing, err := policy.New(policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	tok, err := NewToken(TokenConfig{Origin: authOrigin}, rig.rp.Sessions(), rig.rp, rig.issuer, nothing, m, discard)
	if err != nil {
		t.Fatal(err)
	}
	bare, err := NewRouter(ServerConfig{}, m, discard, tok)
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]http.Handler{"grants": rig.handler, "no grants": bare} {
		req := httptest.NewRequest("POST", "/token", nil)
		req.Header.Set("Cookie", ck)
		req.Header.Set("Origin", authOrigin)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", name, rec.Code, rec.Body)
		}
		var got map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"access_token", "expires_in", "issued_token_type", "scope", "token_type"}; !slices.Equal(keys, want) {
			t.Errorf("%s: fields %v, want %v", name, keys, want)
		}
	}
}
