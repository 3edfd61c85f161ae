package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// LogoutResult says how to finish a logout.
type LogoutResult struct {
	// Redirect is the provider's end_session_endpoint (with id_token_hint
	// and post_logout_redirect_uri) or the checked return_to.
	Redirect string
	// Cookie clears the session cookie.
	Cookie *http.Cookie
	// SessionID and Until are what to revoke: the session id until the
	// session's own end. SessionID is empty when there was no valid session.
	SessionID string
	Until     time.Time
	// Logins are the provider login the session was made from (its
	// session, its ID token) to revoke too, until Until: the ID token
	// travels in the logout URL as id_token_hint, and must not be
	// exchangeable for new tokens afterwards.
	Logins []string
}

// Logout ends the session r carries. returnTo must pass CheckReturnTo. The
// caller revokes SessionID (the revocation list and live sockets are not
// the relying party's).
func (rp *RP) Logout(ctx context.Context, r *http.Request, returnTo string) (LogoutResult, error) {
	rt, err := rp.returnTo.check(returnTo)
	if err != nil {
		return LogoutResult{}, err
	}
	res := LogoutResult{Redirect: rt, Cookie: rp.sessions.ClearCookie()}
	sess, ok, err := rp.sessions.Load(r)
	if !ok || err != nil {
		return res, nil
	}
	res.SessionID, res.Until = sess.ID, sess.ExpiresAt()
	if sess.IdPSession != "" {
		res.Logins = append(res.Logins, idpSessionKey(sess.Provider, sess.IdPSession))
	}
	if sess.IDToken != "" {
		res.Logins = append(res.Logins, idTokenKey(sess.IDToken))
	}
	rp.sessions.Forget(ctx, sess.ID)
	p, ok := rp.providers[sess.Provider]
	if !ok {
		return res, nil
	}
	d, err := p.state()
	if err != nil || d.endSession == "" {
		return res, nil
	}
	u, err := url.Parse(d.endSession)
	if err != nil {
		return res, nil
	}
	q := u.Query()
	if sess.IDToken != "" {
		q.Set("id_token_hint", sess.IDToken)
	}
	q.Set("client_id", p.cfg.ClientID)
	q.Set("post_logout_redirect_uri", rp.returnTo.absolute(rt))
	u.RawQuery = q.Encode()
	res.Redirect = u.String()
	return res, nil
}

// Revocation is one session id to revoke until the given time.
type Revocation struct {
	SessionID string
	Until     time.Time
}

// backchannelEvent is the event a logout token must carry.
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// BackchannelLogout verifies an OIDC Back-Channel Logout 1.0 logout token
// (signature with the provider's keys, iss, aud, exp, iat, jti, the
// back-channel event, sid or sub, no nonce) and returns the sessions to
// revoke. Failures wrap ErrInvalidToken.
func (rp *RP) BackchannelLogout(ctx context.Context, raw string) ([]Revocation, error) {
	bad := func(format string, a ...any) ([]Revocation, error) {
		return nil, fmt.Errorf("%w: logout token: "+format, append([]any{ErrInvalidToken}, a...)...)
	}
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return bad("%w", err)
	}
	p, ok := rp.byIssuer(iss)
	if !ok {
		return bad("unknown issuer %q", iss)
	}
	d, err := p.state()
	if err != nil {
		return bad("%w", err)
	}
	lt, err := d.idVerifier.VerifyLogout(p.httpContext(ctx), raw)
	if err != nil {
		return bad("%w", err)
	}
	if lt.IssuedAt.IsZero() || lt.IssuedAt.After(rp.now().Add(clockLeeway)) {
		return bad("missing or future iat")
	}
	var extra struct {
		Events map[string]json.RawMessage `json:"events"`
	}
	if err := lt.Claims(&extra); err != nil {
		return bad("%w", err)
	}
	if ev := strings.TrimSpace(string(extra.Events[backchannelEvent])); !strings.HasPrefix(ev, "{") {
		return bad("event is not a JSON object")
	}
	key := subKey(p.cfg.Name, lt.Subject)
	if lt.SessionID != "" {
		key = sidKey(p.cfg.Name, lt.SessionID)
	}
	// A logout whose sessions cannot be looked up fails (the provider may
	// send it again) rather than leave their tokens and sockets alive.
	set, err := rp.index.Take(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("oidc: back-channel logout: session index: %w", err)
	}
	var out []Revocation
	for sid, until := range set {
		out = append(out, Revocation{SessionID: sid, Until: until})
	}
	if lt.SessionID != "" {
		// Also revoke the provider's session id itself, so cookies this node
		// has no mapping for (another node, a restart) are refused too.
		out = append(out, Revocation{
			SessionID: idpSessionKey(p.cfg.Name, lt.SessionID),
			Until:     rp.now().Add(rp.cfg.Session.MaxAge),
		})
	}
	return out, nil
}

// unverifiedIssuer reads iss from a compact JWT without verifying it, only
// to pick the provider whose keys will verify it.
func unverifiedIssuer(raw string) (string, error) {
	if len(raw) > 16<<10 {
		return "", fmt.Errorf("oidc: token too long")
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("oidc: not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("oidc: payload: %w", err)
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Iss == "" {
		return "", fmt.Errorf("oidc: no iss")
	}
	return c.Iss, nil
}
