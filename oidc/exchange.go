package oidc

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/oauth2"

	"gatehouse/policy"
)

// RFC 8693 token type identifiers of identity-provider tokens.
const (
	TokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

// VerifySubjectToken verifies a provider's token offered for token exchange
// and returns its identity (without a session id):
//   - an ID token is verified against the provider its iss names, with aud =
//     that provider's client id (no nonce: none was sent);
//   - a JWT access token is verified with that provider's keys, aud = its
//     configured audience (or the client id); UserInfo, when the provider has
//     one, adds the profile and must agree on sub;
//   - an opaque access token is sent to UserInfo of providerName, or of the
//     only provider.
//
// Failures wrap ErrInvalidToken (or ErrUnknownProvider, ErrUnavailable).
func (rp *RP) VerifySubjectToken(ctx context.Context, tokenType, token, providerName string) (policy.Identity, error) {
	switch tokenType {
	case TokenTypeIDToken:
		p, d, err := rp.issuerOf(token)
		if err != nil {
			return policy.Identity{}, err
		}
		_, claims, err := rp.verifyIDToken(ctx, p, d, token, "")
		if err != nil {
			return policy.Identity{}, err
		}
		return identityFromClaims(p.cfg, claims, rp.cfg.KeepClaims)
	case TokenTypeAccessToken:
		if strings.Count(token, ".") == 2 {
			if p, d, err := rp.issuerOf(token); err == nil {
				return rp.verifyJWTAccessToken(ctx, p, d, token)
			}
		}
		p, err := rp.pick(providerName)
		if err != nil {
			return policy.Identity{}, err
		}
		d, err := p.state()
		if err != nil {
			return policy.Identity{}, err
		}
		if d.userInfo == "" {
			return policy.Identity{}, fmt.Errorf("%w: opaque access token and no userinfo endpoint", ErrInvalidToken)
		}
		ui, err := d.op.UserInfo(p.httpContext(ctx), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"}))
		if err != nil {
			return policy.Identity{}, fmt.Errorf("%w: userinfo: %w", ErrInvalidToken, err)
		}
		claims := map[string]any{}
		if err := ui.Claims(&claims); err != nil {
			return policy.Identity{}, fmt.Errorf("%w: userinfo: %w", ErrInvalidToken, err)
		}
		return identityFromClaims(p.cfg, claims, rp.cfg.KeepClaims)
	}
	return policy.Identity{}, fmt.Errorf("%w: unsupported subject_token_type", ErrInvalidToken)
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

func (rp *RP) verifyJWTAccessToken(ctx context.Context, p *provider, d *discovered, token string) (policy.Identity, error) {
	at, err := d.atVerifier.Verify(p.httpContext(ctx), token)
	if err != nil {
		return policy.Identity{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if err := rp.checkCommon(at.Subject, at.IssuedAt); err != nil {
		return policy.Identity{}, err
	}
	claims := map[string]any{}
	if err := at.Claims(&claims); err != nil {
		return policy.Identity{}, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	if d.userInfo != "" {
		tok := &oauth2.Token{AccessToken: token, TokenType: "Bearer"}
		if err := mergeUserInfo(p.httpContext(ctx), d, tok, at.Subject, claims); err != nil {
			return policy.Identity{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
	}
	return identityFromClaims(p.cfg, claims, rp.cfg.KeepClaims)
}
