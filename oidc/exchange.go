package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"gatehouse/policy"
)

// RFC 8693 token type identifiers of identity-provider tokens.
const (
	TokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

// VerifySubjectToken verifies a provider's token offered for token exchange
// and returns its identity and the absolute end of what it proves (no token
// bought with it lasts longer):
//   - an ID token is verified against the provider its iss names, with aud =
//     that provider's client id (no nonce: none was sent);
//   - a JWT access token is verified with that provider's keys, aud = its
//     configured audience (or the client id); UserInfo, when the provider has
//     one, adds the profile and must agree on sub;
//   - an opaque access token is sent to UserInfo of providerName, or of the
//     only provider.
//
// An ID token is a login: the identity's session id is the provider's
// session (its sid claim) or, without one, the token itself, so that
// logging out (here or at the provider) revokes every token bought with it
// and an ID token whose login was logged out is refused. Its end is its exp,
// and never later than the session it would have created (iat + max_age).
// A JWT access token ends at its exp; an opaque one at zero (the minted
// token's own exp).
//
// Failures wrap ErrInvalidToken (or ErrUnknownProvider, ErrUnavailable).
func (rp *RP) VerifySubjectToken(ctx context.Context, tokenType, token, providerName string) (policy.Identity, time.Time, error) {
	switch tokenType {
	case TokenTypeIDToken:
		p, d, err := rp.issuerOf(token)
		if err != nil {
			return policy.Identity{}, time.Time{}, err
		}
		idt, claims, err := rp.verifyIDToken(ctx, p, d, token, "")
		if err != nil {
			return policy.Identity{}, time.Time{}, err
		}
		id, err := identityFromClaims(p.cfg, claims, rp.cfg.KeepClaims)
		if err != nil {
			return policy.Identity{}, time.Time{}, err
		}
		id.SessionID = idTokenSessionKey(p.cfg.Name, claims, token)
		if rp.revoked.Revoked(id.SessionID) {
			return policy.Identity{}, time.Time{}, fmt.Errorf("%w: the login of this id token was logged out", ErrInvalidToken)
		}
		end := idt.Expiry
		if limit := idt.IssuedAt.Add(rp.cfg.Session.MaxAge); limit.Before(end) {
			end = limit
		}
		if !end.After(rp.now()) {
			return policy.Identity{}, time.Time{}, fmt.Errorf("%w: the id token is older than the session it created", ErrInvalidToken)
		}
		return id, end, nil
	case TokenTypeAccessToken:
		if strings.Count(token, ".") == 2 {
			if p, d, err := rp.issuerOf(token); err == nil {
				return rp.verifyJWTAccessToken(ctx, p, d, token)
			}
		}
		p, err := rp.pick(providerName)
		if err != nil {
			return policy.Identity{}, time.Time{}, err
		}
		d, err := p.state()
		if err != nil {
			return policy.Identity{}, time.Time{}, err
		}
		if d.userInfo == "" {
			return policy.Identity{}, time.Time{}, fmt.Errorf("%w: opaque access token and no userinfo endpoint", ErrInvalidToken)
		}
		ui, err := d.op.UserInfo(p.httpContext(ctx), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"}))
		if err != nil {
			return policy.Identity{}, time.Time{}, fmt.Errorf("%w: userinfo: %w", ErrInvalidToken, err)
		}
		claims := map[string]any{}
		if err := ui.Claims(&claims); err != nil {
			return policy.Identity{}, time.Time{}, fmt.Errorf("%w: userinfo: %w", ErrInvalidToken, err)
		}
		id, err := identityFromClaims(p.cfg, claims, rp.cfg.KeepClaims)
		return id, time.Time{}, err
	}
	return policy.Identity{}, time.Time{}, fmt.Errorf("%w: unsupported subject_token_type", ErrInvalidToken)
}

// idTokenSessionKey is the revocation key of the login an ID token proves:
// the provider's session when the token names one (the key back-channel
// logout revokes), else the token itself (the key a local logout of the
// session it created revokes).
func idTokenSessionKey(provider string, claims map[string]any, raw string) string {
	if sid, _ := claims["sid"].(string); sid != "" {
		return idpSessionKey(provider, sid)
	}
	return idTokenKey(raw)
}

// idTokenKey is the revocation key of one ID token.
func idTokenKey(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return "idt:" + base64.RawURLEncoding.EncodeToString(h[:16])
}

func (rp *RP) issuerOf(token string) (*provider, *discovered, error) {
	iss, err := unverifiedIssuer(token)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	p, ok := rp.byIssuer(iss)
	if !ok {
		return nil, nil, fmt.Errorf("%w: unknown issuer %q", ErrInvalidToken, iss)
	}
	d, err := p.state()
	if err != nil {
		return nil, nil, err
	}
	return p, d, nil
}

func (rp *RP) verifyJWTAccessToken(ctx context.Context, p *provider, d *discovered, token string) (policy.Identity, time.Time, error) {
	at, err := d.atVerifier.Verify(p.httpContext(ctx), token)
	if err != nil {
		return policy.Identity{}, time.Time{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if err := rp.checkCommon(at.Subject, at.IssuedAt); err != nil {
		return policy.Identity{}, time.Time{}, err
	}
	claims := map[string]any{}
	if err := at.Claims(&claims); err != nil {
		return policy.Identity{}, time.Time{}, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	if d.userInfo != "" {
		tok := &oauth2.Token{AccessToken: token, TokenType: "Bearer"}
		if err := mergeUserInfo(p.httpContext(ctx), d, tok, at.Subject, claims); err != nil {
			return policy.Identity{}, time.Time{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
	}
	id, err := identityFromClaims(p.cfg, claims, rp.cfg.KeepClaims)
	if err != nil {
		return policy.Identity{}, time.Time{}, err
	}
	if sid, _ := claims["sid"].(string); sid != "" {
		// The provider's session: its back-channel logout revokes what
		// this token buys.
		id.SessionID = idpSessionKey(p.cfg.Name, sid)
		if rp.revoked.Revoked(id.SessionID) {
			return policy.Identity{}, time.Time{}, fmt.Errorf("%w: the provider session of this access token was logged out", ErrInvalidToken)
		}
	}
	return id, at.Expiry, nil
}
