package trust

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Verification errors. ErrInvalid wraps every refusal; the detail is for
// the log, never for the caller.
var (
	// ErrInvalid means the token is not one this issuer vouches for.
	ErrInvalid = errors.New("trust: invalid token")
	// ErrNotThisIssuer means the token names an iss this verifier does not
	// accept; a Set then asks the next verifier.
	ErrNotThisIssuer = errors.New("trust: issuer not accepted")
)

// Token is what a verified token says.
type Token struct {
	// Issuer is the verifier's name (not the token's iss).
	Issuer string
	// Subject is the token's sub.
	Subject string
	// ExpiresAt is the token's exp.
	ExpiresAt time.Time
	// Claims are the token's claims as decoded JSON.
	Claims map[string]any
}

// Verifier verifies the tokens of one trusted issuer.
type Verifier struct {
	cfg    Config
	static any // public key or secret; nil with remote
	remote *remoteKeys
	parser *jwt.Parser
	now    func() time.Time
	cache  *cache
}

// Options are a Verifier's collaborators; the zero value is usable.
type Options struct {
	// HTTPClient fetches JWKS and discovery documents.
	HTTPClient *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// CacheSize bounds the verified-token cache (10,000 when 0).
	CacheSize int
}

// New checks cfg and builds its verifier. Remote keys are not fetched
// here: call Load (or let the first token do it).
func New(cfg Config, opt Options) (*Verifier, error) {
	if cfg.Name == "" {
		return nil, errors.New("trust: a trusted issuer needs a name")
	}
	pub, err := cfg.check()
	if err != nil {
		return nil, fmt.Errorf("trust: issuer %s: %w", cfg.Name, err)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	v := &Verifier{cfg: cfg, now: opt.Now, cache: newCache(opt.CacheSize)}
	switch cfg.source() {
	case "key":
		v.static = pub
	case "secret":
		v.static = append([]byte(nil), cfg.Secret...)
	default:
		v.remote = newRemoteKeys(cfg, opt.HTTPClient, opt.Now)
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(slices.Clone(cfg.Algorithms)),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(opt.Now),
	)
	return v, nil
}

// Name is the issuer's configured name.
func (v *Verifier) Name() string { return v.cfg.Name }

// Accepts reports whether iss is an issuer this verifier takes tokens of
// (any, when no issuer list is configured).
func (v *Verifier) Accepts(iss string) bool {
	return len(v.cfg.Issuers) == 0 || slices.Contains(v.cfg.Issuers, iss)
}

// Pinned reports whether the verifier matches tokens by their iss (an
// issuer list is configured) rather than by key alone.
func (v *Verifier) Pinned() bool { return len(v.cfg.Issuers) > 0 }

// Load fetches remote keys now (a no-op for static keys).
func (v *Verifier) Load(ctx context.Context) error {
	if v.remote == nil {
		return nil
	}
	return v.remote.refresh(ctx, false)
}

// Ready is nil once the verifier can verify: static keys always, remote
// ones after the first successful fetch.
func (v *Verifier) Ready() error {
	if v.remote == nil {
		return nil
	}
	return v.remote.ready()
}

// Verify checks raw and returns what it says.
func (v *Verifier) Verify(ctx context.Context, raw string) (Token, error) {
	key := sha256.Sum256([]byte(raw))
	if t, ok := v.cache.get(key, v.now()); ok {
		return t, nil
	}
	t, err := v.verify(ctx, raw)
	if err != nil {
		return Token{}, err
	}
	v.cache.put(key, t)
	return t, nil
}

func (v *Verifier) verify(ctx context.Context, raw string) (Token, error) {
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			return nil, errors.New("critical header extensions are not supported")
		}
		alg, _ := t.Header["alg"].(string)
		var k any
		if v.static != nil {
			k = v.static
		} else {
			kid, _ := t.Header["kid"].(string)
			var err error
			if k, err = v.remote.key(ctx, kid, alg); err != nil {
				return nil, err
			}
		}
		if want := keyAlgs[alg]; want != "" && keyKind(k) != want {
			return nil, fmt.Errorf("alg %s does not fit a %s key", alg, keyKind(k))
		}
		return k, nil
	})
	if err != nil {
		return Token{}, fmt.Errorf("%w: %s: %w", ErrInvalid, v.cfg.Name, err)
	}
	iss, _ := claims.GetIssuer()
	if !v.Accepts(iss) {
		return Token{}, fmt.Errorf("%w: %w: %s: iss %q", ErrInvalid, ErrNotThisIssuer, v.cfg.Name, iss)
	}
	if len(v.cfg.Audience) > 0 {
		aud, _ := claims.GetAudience()
		if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(v.cfg.Audience, a) }) {
			return Token{}, fmt.Errorf("%w: %s: aud %v not accepted", ErrInvalid, v.cfg.Name, aud)
		}
	}
	sub, _ := claims.GetSubject()
	if sub == "" {
		return Token{}, fmt.Errorf("%w: %s: no sub", ErrInvalid, v.cfg.Name)
	}
	exp, _ := claims.GetExpirationTime()
	return Token{Issuer: v.cfg.Name, Subject: sub, ExpiresAt: exp.Time, Claims: claims}, nil
}
