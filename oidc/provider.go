package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// ProviderConfig is one OpenID provider.
type ProviderConfig struct {
	// Name picks the provider in /auth/login?provider=NAME.
	Name string
	// Issuer is the provider's issuer, exactly as it publishes it.
	Issuer string
	// ClientID and ClientSecret are our client's credentials
	// (client_secret_basic).
	ClientID     string
	ClientSecret string
	// Scopes are asked for; "openid" is required.
	Scopes []string
	// Audience, when set, is sent as the `audience` authorize parameter (Auth0
	// needs it for JWT access tokens) and is the aud required of JWT access
	// tokens in token exchange.
	Audience string
	// RolesClaim and GroupsClaim are dotted claim paths (see
	// policy.Identity.Claim); empty means "roles" and "groups".
	RolesClaim  string
	GroupsClaim string
	// InsecureAllowHTTP lets the issuer and its endpoints be plain http:
	// only for loopback test providers.
	InsecureAllowHTTP bool
}

// supportedAlgs are the signature algorithms accepted from providers: never
// "none", never HS* (a shared secret is not a provider key).
var supportedAlgs = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

// discoveryDoc is the part of the discovery document we read ourselves.
type discoveryDoc struct {
	JWKSURI            string   `json:"jwks_uri"`
	EndSession         string   `json:"end_session_endpoint"`
	UserInfo           string   `json:"userinfo_endpoint"`
	Algs               []string `json:"id_token_signing_alg_values_supported"`
	AuthorizationURL   string   `json:"authorization_endpoint"`
	TokenURL           string   `json:"token_endpoint"`
	BackchannelSupport bool     `json:"backchannel_logout_supported"`
}

// discovered is what a successful discovery yields.
type discovered struct {
	op         *gooidc.Provider
	oauth      oauth2.Config
	keys       *keySet
	idVerifier *gooidc.IDTokenVerifier // aud = client_id
	atVerifier *gooidc.IDTokenVerifier // aud = audience (or client_id)
	endSession string
	userInfo   string
}

// provider is one configured provider and its discovery state.
type provider struct {
	cfg         ProviderConfig
	redirectURL string
	client      *http.Client
	log         *slog.Logger
	now         func() time.Time
	keyInterval time.Duration

	mu      sync.RWMutex
	d       *discovered
	lastErr error
}

// state returns the discovered provider or an error wrapping ErrUnavailable.
func (p *provider) state() (*discovered, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.d == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, p.cfg.Name)
	}
	return p.d, nil
}

// discover fetches the discovery document once.
func (p *provider) discover(ctx context.Context) error {
	ctx = gooidc.ClientContext(ctx, p.client)
	op, err := gooidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		return fmt.Errorf("oidc: discovery of %s: %w", p.cfg.Name, err)
	}
	var doc discoveryDoc
	if err := op.Claims(&doc); err != nil {
		return fmt.Errorf("oidc: discovery of %s: %w", p.cfg.Name, err)
	}
	for _, e := range []string{doc.JWKSURI, doc.AuthorizationURL, doc.TokenURL, doc.EndSession, doc.UserInfo} {
		if e == "" {
			continue
		}
		u, err := url.Parse(e)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && p.cfg.InsecureAllowHTTP)) {
			return fmt.Errorf("oidc: discovery of %s: endpoint %q must be https", p.cfg.Name, e)
		}
	}
	if doc.JWKSURI == "" || doc.AuthorizationURL == "" || doc.TokenURL == "" {
		return fmt.Errorf("oidc: discovery of %s: jwks_uri, authorization_endpoint and token_endpoint are required", p.cfg.Name)
	}
	var algs []string
	for _, a := range doc.Algs {
		if slices.Contains(supportedAlgs, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = []string{"RS256"} // the one algorithm OpenID Connect mandates
	}
	ks := newKeySet(doc.JWKSURI, p.client, algs, p.keyInterval, p.now)
	ep := op.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic
	aud := p.cfg.Audience
	if aud == "" {
		aud = p.cfg.ClientID
	}
	d := &discovered{
		op: op,
		oauth: oauth2.Config{
			ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret,
			Endpoint: ep, RedirectURL: p.redirectURL, Scopes: p.cfg.Scopes,
		},
		keys:       ks,
		idVerifier: gooidc.NewVerifier(p.cfg.Issuer, ks, &gooidc.Config{ClientID: p.cfg.ClientID, SupportedSigningAlgs: algs, Now: p.now}),
		atVerifier: gooidc.NewVerifier(p.cfg.Issuer, ks, &gooidc.Config{ClientID: aud, SupportedSigningAlgs: algs, Now: p.now}),
		endSession: doc.EndSession,
		userInfo:   doc.UserInfo,
	}
	p.mu.Lock()
	p.d, p.lastErr = d, nil
	p.mu.Unlock()
	return nil
}

// run retries discovery with capped exponential back-off until it succeeds
// or ctx ends.
func (p *provider) run(ctx context.Context, first, limit time.Duration) {
	wait := first
	for {
		err := p.discover(ctx)
		if err == nil {
			p.log.InfoContext(ctx, "oidc provider discovered", "provider", p.cfg.Name, "issuer", p.cfg.Issuer)
			return
		}
		p.mu.Lock()
		p.lastErr = err
		p.mu.Unlock()
		p.log.WarnContext(ctx, "oidc discovery failed, retrying", "provider", p.cfg.Name, "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(wait*2, limit)
	}
}

// ready reports nil once discovery has succeeded.
func (p *provider) ready() error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.d != nil {
		return nil
	}
	if p.lastErr != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, p.lastErr)
	}
	return fmt.Errorf("%w: discovery pending", ErrUnavailable)
}

// httpContext carries our HTTP client to oauth2 and go-oidc.
func (p *provider) httpContext(ctx context.Context) context.Context {
	return gooidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, p.client), p.client)
}

// errNoIDToken is returned when the token endpoint answered without one.
var errNoIDToken = errors.New("oidc: token response has no id_token")
