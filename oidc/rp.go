package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/securecookie"

	"gatehouse/revocation"
)

// Defaults of Config.
const (
	DefaultLoginTTL       = 10 * time.Minute
	DefaultDiscoveryRetry = 250 * time.Millisecond
	maxDiscoveryRetry     = 30 * time.Second
	defaultHTTPTimeout    = 10 * time.Second
)

// Config configures the relying party.
type Config struct {
	// PublicURL is where browsers reach us; the redirect URI is PublicURL +
	// "/auth/callback".
	PublicURL string
	// Providers are the configured identity providers.
	Providers []ProviderConfig
	// RedirectAllowlist lists origins return_to may point at besides ours.
	RedirectAllowlist []string
	// Session configures session cookies.
	Session SessionConfig
	// KeepClaims are the dotted claim paths carried into Identity.Claims.
	KeepClaims []string
	// LoginTTL bounds the time between /auth/login and /auth/callback.
	LoginTTL time.Duration
	// KeyRefetchInterval is the least time between JWKS refetches caused by
	// unknown kids (DefaultKeyRefetchInterval when 0).
	KeyRefetchInterval time.Duration
	// DiscoveryRetry is the first back-off of background discovery.
	DiscoveryRetry time.Duration
	// HTTPClient talks to the providers (a 10 s timeout client when nil).
	HTTPClient *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Index finds our sessions for a back-channel logout; nil means a
	// MemoryIndex, which only knows this process's logins.
	Index SessionIndex
}

// RP is the relying party: every configured provider, the login flow and
// the session cookies.
type RP struct {
	cfg       Config
	providers map[string]*provider
	order     []string
	returnTo  returnToPolicy
	sessions  *Sessions
	login     []securecookie.Codec
	secure    bool
	consumed  *expirySet
	index     SessionIndex
	revoked   revocation.Checker // never nil
	now       func() time.Time
	log       *slog.Logger
}

// New validates cfg and returns a relying party. Discovery starts with
// Start. revoked is asked for every session cookie (nil: nothing is revoked).
func New(cfg Config, revoked revocation.Checker, log *slog.Logger) (*RP, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LoginTTL <= 0 {
		cfg.LoginTTL = DefaultLoginTTL
	}
	if cfg.KeyRefetchInterval <= 0 {
		cfg.KeyRefetchInterval = DefaultKeyRefetchInterval
	}
	if cfg.DiscoveryRetry <= 0 {
		cfg.DiscoveryRetry = DefaultDiscoveryRetry
	}
	if cfg.Index == nil {
		cfg.Index = NewMemoryIndex(0, cfg.Now)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	rt, err := newReturnToPolicy(cfg.PublicURL, cfg.RedirectAllowlist)
	if err != nil {
		return nil, err
	}
	pu, _ := url.Parse(cfg.PublicURL)
	secure := pu.Scheme == "https"
	sessions, err := NewSessions(cfg.Session, secure, revoked, cfg.Now, log)
	if err != nil {
		return nil, err
	}
	login, err := newCodecs(cfg.Session.HashKeys, cfg.Session.BlockKeys, cfg.LoginTTL)
	if err != nil {
		return nil, err
	}
	rp := &RP{
		cfg: cfg, providers: map[string]*provider{}, returnTo: rt, sessions: sessions, login: login,
		secure: secure, consumed: newExpirySet(100000, cfg.Now), index: cfg.Index,
		revoked: revokedOrNone(revoked), now: cfg.Now, log: log,
	}
	for _, pc := range cfg.Providers {
		if pc.Name == "" || pc.Issuer == "" || pc.ClientID == "" {
			return nil, errors.New("oidc: provider name, issuer and client id are required")
		}
		if _, dup := rp.providers[pc.Name]; dup {
			return nil, fmt.Errorf("oidc: duplicate provider %q", pc.Name)
		}
		iu, err := url.Parse(pc.Issuer)
		if err != nil || iu.Host == "" || (iu.Scheme != "https" && !(iu.Scheme == "http" && pc.InsecureAllowHTTP)) {
			return nil, fmt.Errorf("oidc: provider %s: issuer must be an https URL", pc.Name)
		}
		if len(pc.Scopes) == 0 {
			pc.Scopes = []string{"openid", "profile", "email"}
		}
		rp.providers[pc.Name] = &provider{
			cfg: pc, redirectURL: rt.self + CallbackPath, client: cfg.HTTPClient, log: log,
			now: cfg.Now, keyInterval: cfg.KeyRefetchInterval,
		}
		rp.order = append(rp.order, pc.Name)
	}
	return rp, nil
}

// CallbackPath is where providers send the browser back.
const CallbackPath = "/auth/callback"

// Start discovers every provider in the background, retrying with back-off
// until it succeeds or ctx ends. It does not block.
func (rp *RP) Start(ctx context.Context) {
	for _, name := range rp.order {
		go rp.providers[name].run(ctx, rp.cfg.DiscoveryRetry, maxDiscoveryRetry)
	}
}

// Discover runs discovery of every provider once, synchronously (tests and
// callers that want to know at once).
func (rp *RP) Discover(ctx context.Context) error {
	var errs []error
	for _, name := range rp.order {
		errs = append(errs, rp.providers[name].discover(ctx))
	}
	return errors.Join(errs...)
}

// Sessions returns the session cookie codec (the authn.SessionReader).
func (rp *RP) Sessions() *Sessions { return rp.sessions }

// ProviderStatus is one provider as the login page lists it.
type ProviderStatus struct {
	Name  string
	Ready bool
}

// Providers lists the providers in configuration order.
func (rp *RP) Providers() []ProviderStatus {
	out := make([]ProviderStatus, 0, len(rp.order))
	for _, name := range rp.order {
		out = append(out, ProviderStatus{Name: name, Ready: rp.providers[name].ready() == nil})
	}
	return out
}

// Ready reports nil once the named provider's discovery has succeeded.
func (rp *RP) Ready(name string) error {
	p, ok := rp.providers[name]
	if !ok {
		return ErrUnknownProvider
	}
	return p.ready()
}

// CheckReturnTo validates a return_to value (README, "Logging people in"): it returns what
// to redirect to, or an error wrapping ErrBadReturnTo.
func (rp *RP) CheckReturnTo(raw string) (string, error) { return rp.returnTo.check(raw) }

// Origin returns the origin of the public URL (scheme://host[:port]).
func (rp *RP) Origin() string { return rp.returnTo.self }

// pick resolves a provider name; "" picks the only provider.
func (rp *RP) pick(name string) (*provider, error) {
	if name == "" && len(rp.order) == 1 {
		name = rp.order[0]
	}
	p, ok := rp.providers[name]
	if !ok {
		return nil, ErrUnknownProvider
	}
	return p, nil
}

// byIssuer finds the provider whose issuer is exactly iss.
func (rp *RP) byIssuer(iss string) (*provider, bool) {
	for _, name := range rp.order {
		if p := rp.providers[name]; p.cfg.Issuer == iss {
			return p, true
		}
	}
	return nil, false
}

// noneRevoked is the checker of a relying party given none.
type noneRevoked struct{}

func (noneRevoked) Revoked(string) bool { return false }

func revokedOrNone(c revocation.Checker) revocation.Checker {
	if c == nil {
		return noneRevoked{}
	}
	return c
}
