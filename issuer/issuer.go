package issuer

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/keys"
	"gatehouse/revocation"
)

// Defaults and bounds for token lifetimes.
const (
	DefaultTTL    = 5 * time.Minute
	MaxTTL        = time.Hour
	MaxOfflineTTL = 24 * time.Hour
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway = 30 * time.Second
	// TokenType is the JWT typ header of realtime tokens (RFC 9068).
	TokenType = "at+jwt"
)

// Config configures an Issuer.
type Config struct {
	// Issuer is the iss claim minted and required.
	Issuer string
	// Audience is the aud claim minted and required.
	Audience string
	// TTL is the default token lifetime.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Revocations is asked whether a token's session id was revoked, on
	// every Verify; nil means never.
	Revocations revocation.Checker
	// Cache remembers verified tokens (NewCache); nil: every Verify checks
	// the signature.
	Cache *Cache
}

// Issuer mints and verifies tokens with a key set.
type Issuer struct {
	cfg      Config
	keys     *keys.Set
	parser   *jwt.Parser
	mu       sync.RWMutex
	profiles map[string]Profile
}

// New validates cfg and returns an Issuer signing with ks.
func New(cfg Config, ks *keys.Set) (*Issuer, error) {
	if ks == nil {
		return nil, errors.New("issuer: no key set")
	}
	if cfg.Issuer == "" {
		return nil, errors.New("issuer: issuer is required")
	}
	if cfg.Audience == "" {
		return nil, errors.New("issuer: audience is required")
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.TTL < 0 || cfg.TTL > MaxTTL {
		return nil, fmt.Errorf("issuer: ttl %s out of range (0, %s]", cfg.TTL, MaxTTL)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	i := &Issuer{cfg: cfg, keys: ks, profiles: map[string]Profile{}}
	i.parser = jwt.NewParser(
		jwt.WithValidMethods(ks.Algorithms()),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithStrictDecoding(),
	)
	i.Register(DefaultProfile, mintDefault)
	return i, nil
}

// Keys returns the key set the issuer signs and verifies with.
func (i *Issuer) Keys() *keys.Set { return i.keys }

// Issuer returns the configured iss value.
func (i *Issuer) Issuer() string { return i.cfg.Issuer }

// Audience returns the configured aud value.
func (i *Issuer) Audience() string { return i.cfg.Audience }

// TTL returns the default token lifetime.
func (i *Issuer) TTL() time.Duration { return i.cfg.TTL }

// Now returns the issuer's clock reading.
func (i *Issuer) Now() time.Time { return i.cfg.Now() }

// Revoked reports whether sid was revoked.
func (i *Issuer) Revoked(sid string) bool {
	return sid != "" && i.cfg.Revocations != nil && i.cfg.Revocations.Revoked(sid)
}

func methodFor(alg string) jwt.SigningMethod {
	switch alg {
	case keys.ES256:
		return jwt.SigningMethodES256
	case keys.ES384:
		return jwt.SigningMethodES384
	case keys.ES512:
		return jwt.SigningMethodES512
	case keys.RS256:
		return jwt.SigningMethodRS256
	case keys.PS256:
		return jwt.SigningMethodPS256
	case keys.EdDSA:
		return jwt.SigningMethodEdDSA
	case keys.HS256:
		return jwt.SigningMethodHS256
	}
	return nil
}

// typOK accepts "at+jwt" and "application/at+jwt" (RFC 9068 §4), any case.
func typOK(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == TokenType || typ == "application/"+TokenType
}
