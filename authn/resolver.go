package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"gatehouse/issuer"
	"gatehouse/policy"
)

// Resolver turns the credentials the fronts accept into a Caller: one of
// our tokens (verified through the issuer and its cache), a login session
// cookie, or, where a front allows it, nothing at all (anonymous).
type Resolver struct {
	issuer   *issuer.Issuer
	policy   *policy.Engine
	sessions SessionReader
	anonTTL  time.Duration

	// front is the front this view of the resolver serves (see For);
	// external lists the trusted issuers enabled per front.
	front    string
	external map[string][]*External
	apps     map[string]AppKeys
}

// NewResolver builds a Resolver. sessions may be nil when no login is
// configured; anonTTL is how long an anonymous identity is said to last
// (the issuer's default TTL when 0).
func NewResolver(iss *issuer.Issuer, pol *policy.Engine, sessions SessionReader, anonTTL time.Duration) (*Resolver, error) {
	if iss == nil || pol == nil {
		return nil, errors.New("authn: resolver needs an issuer and a policy")
	}
	if anonTTL <= 0 {
		anonTTL = iss.TTL()
	}
	return &Resolver{issuer: iss, policy: pol, sessions: sessions, anonTTL: anonTTL}, nil
}

// Policy returns the policy the resolver grants with.
func (r *Resolver) Policy() *policy.Engine { return r.policy }

// Token verifies one of our tokens or, on a resolver For a front that
// trusted issuers are enabled on, one of theirs: a token naming our issuer
// is only ever checked as ours.
func (r *Resolver) Token(token string) (Caller, error) {
	if list := r.external[r.front]; len(list) > 0 {
		if iss := peekIssuer(token); iss != r.issuer.Issuer() {
			return verifyExternal(context.Background(), list, r.policy, token, iss)
		}
	}
	return r.own(token)
}

// own verifies one of our tokens.
func (r *Resolver) own(token string) (Caller, error) {
	c, err := r.issuer.Verify(token)
	if err != nil {
		return Caller{}, fmt.Errorf("%w: token: %w", ErrBadCredential, err)
	}
	return Caller{Identity: c.Identity(), Grants: c.Grants(), ExpiresAt: c.ExpiresAt.Time, Source: SourceToken}, nil
}

// Session reads the session cookie of req. ok is false when req carries no
// session cookie (or no login is configured).
func (r *Resolver) Session(req *http.Request) (_ Caller, ok bool, _ error) {
	if r.sessions == nil {
		return Caller{}, false, nil
	}
	id, exp, ok, err := r.sessions.Identity(req)
	if err != nil {
		return Caller{}, true, fmt.Errorf("%w: session: %w", ErrBadCredential, err)
	}
	if !ok {
		return Caller{}, false, nil
	}
	id = id.Normalize()
	return Caller{Identity: id, Grants: r.policy.Grants(id), ExpiresAt: exp, Source: SourceSession}, true, nil
}

// SessionFromCookie reads a session from a Cookie header value that arrived
// out of band (deepstream forwards the browser's upgrade headers).
func (r *Resolver) SessionFromCookie(ctx context.Context, cookie string) (Caller, bool, error) {
	if r.sessions == nil || cookie == "" {
		return Caller{}, false, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return Caller{}, false, fmt.Errorf("authn: cookie request: %w", err)
	}
	req.Header.Set("Cookie", cookie)
	return r.Session(req)
}

// Anonymous returns a fresh anonymous caller with the policy's anonymous
// grants.
func (r *Resolver) Anonymous() Caller {
	id := policy.Identity{Subject: issuer.NewAnonymousSubject(), Anonymous: true}.Normalize()
	return Caller{Identity: id, Grants: r.policy.Grants(id), ExpiresAt: r.issuer.Now().Add(r.anonTTL), Source: SourceAnonymous}
}

// Request resolves the caller of an HTTP request: `Authorization: Bearer`
// with one of our tokens, else the session cookie, else anonymous when
// allowAnonymous. Any Authorization header that is not a well-formed Bearer
// token is a bad credential.
func (r *Resolver) Request(req *http.Request, allowAnonymous bool) (Caller, error) {
	if h := req.Header.Values("Authorization"); len(h) > 0 {
		tok, ok := BearerToken(h)
		if !ok {
			return Caller{}, fmt.Errorf("%w: malformed Authorization header", ErrBadCredential)
		}
		return r.Token(tok)
	}
	c, ok, err := r.Session(req)
	if err != nil || ok {
		return c, err
	}
	if allowAnonymous {
		return r.Anonymous(), nil
	}
	return Caller{}, ErrNoCredential
}
