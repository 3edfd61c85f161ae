package oidc

import (
	"context"
	"crypto/hmac"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"golang.org/x/oauth2"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// loginCookiePrefix starts the name of each login attempt's cookie; the
// state follows, so concurrent logins in several tabs do not clash.
const loginCookiePrefix = "gh_login_"

// loginState is what a login attempt's cookie holds.
type loginState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Provider string `json:"p"`
	ReturnTo string `json:"r"`
	Created  int64  `json:"t"`
}

// LoginStart is where to send the browser and the cookie to set first.
type LoginStart struct {
	// URL is the provider's authorize URL.
	URL string
	// Cookie holds state, nonce and PKCE verifier, encrypted.
	Cookie *http.Cookie
}

func (rp *RP) loginCookieName(state string) string {
	if rp.secure {
		return "__Host-" + loginCookiePrefix + state
	}
	return loginCookiePrefix + state
}

// BeginLogin starts the authorization code flow with provider (""
// picks the only one). returnTo must already be acceptable to CheckReturnTo.
func (rp *RP) BeginLogin(ctx context.Context, providerName, returnTo string) (LoginStart, error) {
	p, err := rp.pick(providerName)
	if err != nil {
		return LoginStart{}, err
	}
	rt, err := rp.returnTo.check(returnTo)
	if err != nil {
		return LoginStart{}, err
	}
	d, err := p.state()
	if err != nil {
		return LoginStart{}, err
	}
	ls := loginState{
		State: randomID(), Nonce: randomID(), Verifier: oauth2.GenerateVerifier(),
		Provider: p.cfg.Name, ReturnTo: rt, Created: rp.now().Unix(),
	}
	name := rp.loginCookieName(ls.State)
	v, err := securecookie.EncodeMulti(name, &ls, rp.login...)
	if err != nil {
		return LoginStart{}, fmt.Errorf("oidc: login cookie: %w", err)
	}
	opts := []oauth2.AuthCodeOption{gooidc.Nonce(ls.Nonce), oauth2.S256ChallengeOption(ls.Verifier)}
	if p.cfg.Audience != "" {
		opts = append(opts, oauth2.SetAuthURLParam("audience", p.cfg.Audience))
	}
	return LoginStart{
		URL: d.oauth.AuthCodeURL(ls.State, opts...),
		Cookie: &http.Cookie{
			Name: name, Value: v, Path: "/", MaxAge: int(rp.cfg.LoginTTL / time.Second),
			HttpOnly: true, Secure: rp.secure, SameSite: http.SameSiteLaxMode,
		},
	}, nil
}

// CallbackResult is the outcome of a callback.
type CallbackResult struct {
	// Cookies are to be set whatever happened: the login cookie cleared and,
	// on success, the session cookie.
	Cookies []*http.Cookie
	// ReturnTo is where to send the browser on success.
	ReturnTo string
	// Session is the new session on success.
	Session *Session
	// ProviderError is the provider's `error` code when it sent one.
	ProviderError string
}

// validState reports whether s looks like a state we issue (22 base64url
// characters), so that no other text reaches a cookie name.
func validState(s string) bool {
	if len(s) != 22 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Callback finishes a login: it checks the state against its login cookie
// (consumed: a replay fails), exchanges the code with the PKCE verifier,
// verifies the ID token (go-oidc's checks plus nonce, iat, sub, azp,
// at_hash), compares the UserInfo sub, maps the claims and encodes the
// session cookie. Every failure wraps ErrLoginFailed.
func (rp *RP) Callback(ctx context.Context, r *http.Request) (CallbackResult, error) {
	var res CallbackResult
	fail := func(format string, a ...any) (CallbackResult, error) {
		return res, fmt.Errorf("%w: "+format, append([]any{ErrLoginFailed}, a...)...)
	}
	q := r.URL.Query()
	state := q.Get("state")
	if !validState(state) {
		return fail("malformed state")
	}
	name := rp.loginCookieName(state)
	res.Cookies = append(res.Cookies, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: rp.secure, SameSite: http.SameSiteLaxMode,
	})
	c, err := r.Cookie(name)
	if err != nil {
		return fail("no login cookie for state")
	}
	var ls loginState
	if err := securecookie.DecodeMulti(name, c.Value, &ls, rp.login...); err != nil {
		return fail("login cookie: %w", err)
	}
	created := time.Unix(ls.Created, 0)
	if !hmac.Equal([]byte(ls.State), []byte(state)) || rp.now().Sub(created) > rp.cfg.LoginTTL {
		return fail("state mismatch or login too old")
	}
	if !rp.consumed.add(state, created.Add(rp.cfg.LoginTTL+clockLeeway)) {
		return fail("state already used")
	}
	if e := q.Get("error"); e != "" {
		res.ProviderError = e
		return fail("provider answered error %q: %q", e, q.Get("error_description"))
	}
	code := q.Get("code")
	if code == "" {
		return fail("no code")
	}
	p, ok := rp.providers[ls.Provider]
	if !ok {
		return fail("provider %q no longer configured", ls.Provider)
	}
	d, err := p.state()
	if err != nil {
		return fail("%w", err)
	}
	hctx := p.httpContext(ctx)
	tok, err := d.oauth.Exchange(hctx, code, oauth2.VerifierOption(ls.Verifier))
	if err != nil {
		return fail("code exchange: %w", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return fail("%w", errNoIDToken)
	}
	// The ID token came from the token endpoint on the back channel: an
	// unknown kid is the provider's rotation, refetched at once.
	idt, claims, err := rp.verifyIDToken(fromTokenEndpoint(ctx), p, d, rawID, ls.Nonce)
	if err != nil {
		return fail("%w", err)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return fail("at_hash: %w", err)
		}
	}
	if d.userInfo != "" && tok.AccessToken != "" {
		if err := mergeUserInfo(hctx, d, tok, idt.Subject, claims); err != nil {
			return fail("%w", err)
		}
	}
	id, err := identityFromClaims(p.cfg, claims, rp.cfg.KeepClaims)
	if err != nil {
		return fail("%w", err)
	}
	idpSID, _ := claims["sid"].(string)
	sess := rp.sessions.newSession(id, idpSID, rawID)
	// Indexed before the cookie exists: a session a back-channel logout
	// could not find is never handed out.
	until := sess.ExpiresAt()
	if idpSID != "" {
		if err := rp.index.Add(ctx, sidKey(p.cfg.Name, idpSID), sess.ID, until); err != nil {
			return fail("session index: %w", err)
		}
	}
	if err := rp.index.Add(ctx, subKey(p.cfg.Name, id.Subject), sess.ID, until); err != nil {
		return fail("session index: %w", err)
	}
	sc, err := rp.sessions.Cookie(ctx, sess)
	if err != nil {
		return fail("%w", err)
	}
	res.Cookies = append(res.Cookies, sc)
	res.ReturnTo = ls.ReturnTo
	res.Session = sess
	return res, nil
}

// verifyIDToken runs go-oidc's checks (signature with an algorithm from
// discovery, iss, aud, exp) and ours: sub and iat present, iat not in the
// future, azp, and the nonce when one is expected.
func (rp *RP) verifyIDToken(ctx context.Context, p *provider, d *discovered, raw, nonce string) (*gooidc.IDToken, map[string]any, error) {
	idt, err := d.idVerifier.Verify(p.httpContext(ctx), raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, nil, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	if err := rp.checkCommon(idt.Subject, idt.IssuedAt); err != nil {
		return nil, nil, err
	}
	azp, _ := claims["azp"].(string)
	if (azp != "" || len(idt.Audience) > 1) && azp != p.cfg.ClientID {
		return nil, nil, fmt.Errorf("%w: azp %q is not our client", ErrInvalidToken, azp)
	}
	if nonce != "" && !hmac.Equal([]byte(idt.Nonce), []byte(nonce)) {
		return nil, nil, fmt.Errorf("%w: nonce mismatch", ErrInvalidToken)
	}
	return idt, claims, nil
}

// checkCommon requires sub and a plausible iat.
func (rp *RP) checkCommon(sub string, iat time.Time) error {
	if strings.TrimSpace(sub) == "" {
		return fmt.Errorf("%w: no sub", ErrInvalidToken)
	}
	if iat.IsZero() || iat.Unix() == 0 {
		return fmt.Errorf("%w: no iat", ErrInvalidToken)
	}
	if iat.After(rp.now().Add(clockLeeway)) {
		return fmt.Errorf("%w: iat in the future", ErrInvalidToken)
	}
	return nil
}

// mergeUserInfo asks UserInfo, refuses a different sub, and adds the claims
// the ID token lacked.
func mergeUserInfo(ctx context.Context, d *discovered, tok *oauth2.Token, sub string, claims map[string]any) error {
	ui, err := d.op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return fmt.Errorf("oidc: userinfo: %w", err)
	}
	if ui.Subject == "" || ui.Subject != sub {
		return fmt.Errorf("%w: userinfo sub %q differs from id token sub %q", ErrInvalidToken, ui.Subject, sub)
	}
	extra := map[string]any{}
	if err := ui.Claims(&extra); err != nil {
		return fmt.Errorf("oidc: userinfo claims: %w", err)
	}
	for k, v := range extra {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	return nil
}
