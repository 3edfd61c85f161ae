package trust

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// MaxLeeway is the largest clock skew a trusted issuer may be given.
const MaxLeeway = 30 * time.Second

// MinSecretBytes is the shortest HS secret accepted (RFC 7518 §3.2: a key
// at least as long as the hash output).
const MinSecretBytes = 32

// Config describes one trusted issuer. Exactly one key source is set:
// PublicKeyPEM, Secret, JWKSURL, or none of them with Discovery (the
// issuer's OpenID configuration names its JWKS).
type Config struct {
	// Name identifies the issuer in logs, metrics and /readyz.
	Name string
	// Issuers are the accepted `iss` values, compared exactly. Empty means
	// the key alone establishes trust (any or no iss).
	Issuers []string
	// Audience lists accepted `aud` values; a token must name one of them.
	// Empty accepts any audience.
	Audience []string
	// Algorithms is the allow-list of header `alg` values (required).
	Algorithms []string
	// Leeway is the clock skew allowed on exp, nbf and iat (≤ MaxLeeway).
	Leeway time.Duration

	// PublicKeyPEM is an RSA, EC (P-256/384/521) or Ed25519 public key
	// (SPKI "PUBLIC KEY", PKCS#1 "RSA PUBLIC KEY", or a certificate).
	PublicKeyPEM []byte
	// Secret is an HS shared secret, at least MinSecretBytes long.
	Secret []byte
	// JWKSURL is the issuer's JSON Web Key Set.
	JWKSURL string
	// Discovery finds the JWKS through Issuers[0]'s
	// /.well-known/openid-configuration when no key source is given.
	Discovery bool
	// InsecureAllowHTTP permits http:// JWKS and discovery URLs (tests, a
	// provider on loopback).
	InsecureAllowHTTP bool
	// RefreshInterval is how often a JWKS is re-read when its response
	// says nothing (Cache-Control max-age wins when it does, within
	// [MinRefreshInterval, RefreshInterval]); 1 h when 0.
	RefreshInterval time.Duration
	// MinRefreshInterval bounds re-reads on unknown kids; 10 s when 0.
	MinRefreshInterval time.Duration
}

var hsAlgs = map[string]bool{"HS256": true, "HS384": true, "HS512": true}

var keyAlgs = map[string]string{
	"RS256": "RSA", "RS384": "RSA", "RS512": "RSA",
	"PS256": "RSA", "PS384": "RSA", "PS512": "RSA",
	"ES256": "P-256", "ES384": "P-384", "ES512": "P-521",
	"EdDSA": "Ed25519",
}

// source names the configured key source.
func (c *Config) source() string {
	switch {
	case len(c.PublicKeyPEM) > 0:
		return "key"
	case len(c.Secret) > 0:
		return "secret"
	case c.JWKSURL != "":
		return "jwks"
	case c.Discovery:
		return "discovery"
	}
	return ""
}

// Check validates c as New would; the problems name the fields in config
// terms (key, secret, algorithms, leeway, jwks_url, issuer).
func Check(c Config) error {
	_, err := c.check()
	return err
}

// check validates c; problems name the field in config terms.
func (c *Config) check() (publicKey any, err error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	n := 0
	for _, set := range []bool{len(c.PublicKeyPEM) > 0, len(c.Secret) > 0, c.JWKSURL != "", c.Discovery} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		bad("one key source is required: a public key, a secret, a JWKS URL, or discovery from the issuer")
	case n > 1:
		bad("give only one key source (public key, secret, JWKS URL or discovery)")
	}
	if len(c.Algorithms) == 0 {
		bad("algorithms: an allow-list is required")
	}
	secret := len(c.Secret) > 0
	for _, a := range c.Algorithms {
		switch {
		case strings.EqualFold(a, "none"):
			bad("algorithms: %q is never accepted", a)
		case hsAlgs[a] && !secret:
			bad("algorithms: %s needs a shared secret; with a public key it would let anyone holding the public key sign", a)
		case keyAlgs[a] != "" && secret:
			bad("algorithms: %s needs a public key, not a secret", a)
		case !hsAlgs[a] && keyAlgs[a] == "":
			bad("algorithms: %q is not supported (HS256/384/512, RS*, PS*, ES256/384/512, EdDSA)", a)
		}
	}
	if secret && len(c.Secret) < MinSecretBytes {
		bad("secret: %d bytes is too short: an HS secret must be at least %d bytes", len(c.Secret), MinSecretBytes)
	}
	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		bad("leeway: %s is outside [0, %s]", c.Leeway, MaxLeeway)
	}
	if c.JWKSURL != "" {
		if err := checkURL(c.JWKSURL, c.InsecureAllowHTTP); err != nil {
			bad("jwks_url: %v", err)
		}
	}
	if c.Discovery {
		if len(c.Issuers) == 0 {
			bad("issuer: discovery needs the issuer URL")
		} else if err := checkURL(c.Issuers[0], c.InsecureAllowHTTP); err != nil {
			bad("issuer: %v", err)
		}
	}
	if len(c.PublicKeyPEM) > 0 {
		k, err := ParsePublicKey(c.PublicKeyPEM)
		if err != nil {
			bad("key: %v", err)
		} else {
			publicKey = k
			for _, a := range c.Algorithms {
				if want := keyAlgs[a]; want != "" && want != keyKind(k) {
					bad("algorithms: %s does not fit a %s key", a, keyKind(k))
				}
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return publicKey, nil
}

func checkURL(s string, allowHTTP bool) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	if u.Scheme != "https" && !(allowHTTP && u.Scheme == "http") {
		return fmt.Errorf("%q must be https (insecure_allow_http permits http for tests)", s)
	}
	return nil
}

// ParsePublicKey reads one PEM public key: SPKI, PKCS#1 RSA, or the key of
// a certificate. Private keys are refused: a verifier needs only the
// public half, and a private key in a verifier's config is a leak.
func ParsePublicKey(data []byte) (any, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var (
		k   any
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		k, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		k, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			k = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("PEM block %q is not a public key or certificate", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", block.Type, err)
	}
	if keyKind(k) == "" {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	if rk, ok := k.(*rsa.PublicKey); ok && rk.N.BitLen() < 2048 {
		return nil, fmt.Errorf("RSA key of %d bits is too short (2048 at least)", rk.N.BitLen())
	}
	return k, nil
}

// keyKind names a public key's family as keyAlgs does.
func keyKind(k any) string {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return ""
}
