package issuer

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
)

// maxTokenBytes bounds what Verify will parse.
const maxTokenBytes = 16 << 10

// forbiddenHeaders are never followed nor trusted (RFC 8725 §3.10); a token
// carrying one is refused outright, since ours never do.
var forbiddenHeaders = []string{"jku", "x5u", "jwk", "x5c", "crit"}

// Verify checks a default-profile token and returns its claims. Every
// failure wraps ErrInvalidToken (and ErrRevoked for a revoked session).
// With a Config.Cache, a token verified before is answered from it;
// the revocation check still runs every time. The returned claims may be
// shared with other callers and must not be modified.
func (i *Issuer) Verify(token string) (*Claims, error) {
	if len(token) > maxTokenBytes {
		return nil, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	if !compactCanonical(token) {
		return nil, fmt.Errorf("%w: not a canonical compact JWS", ErrInvalidToken)
	}
	cache := i.cfg.Cache
	var key cacheKey
	if cache != nil {
		key = keyOf(token)
		if c, ok := cache.get(&key); ok {
			if i.Revoked(c.SessionID) {
				return nil, fmt.Errorf("%w: %w", ErrInvalidToken, ErrRevoked)
			}
			return c, nil
		}
	}
	c := new(Claims)
	_, err := i.parser.ParseWithClaims(token, c, i.keyFunc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if c.Subject == "" {
		return nil, fmt.Errorf("%w: no sub", ErrInvalidToken)
	}
	if c.Anonymous && c.SessionID != "" {
		return nil, fmt.Errorf("%w: anonymous token with a session", ErrInvalidToken)
	}
	if i.Revoked(c.SessionID) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, ErrRevoked)
	}
	if cache != nil {
		cache.put(&key, c, c.ExpiresAt.Add(Leeway).Unix())
	}
	return c, nil
}

// keyFunc picks the verification key: the kid must name a configured key and
// the header alg must be that key's algorithm (never HS with a public key).
func (i *Issuer) keyFunc(t *jwt.Token) (any, error) {
	for _, h := range forbiddenHeaders {
		if _, ok := t.Header[h]; ok {
			return nil, fmt.Errorf("issuer: %s header not accepted", h)
		}
	}
	typ, _ := t.Header["typ"].(string)
	if !typOK(typ) {
		return nil, fmt.Errorf("issuer: typ %q not accepted", typ)
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("issuer: kid missing")
	}
	k, ok := i.keys.Lookup(kid)
	if !ok {
		return nil, fmt.Errorf("issuer: unknown kid %q", kid)
	}
	if t.Method == nil || t.Method.Alg() != k.Alg {
		return nil, fmt.Errorf("issuer: alg %v does not match key %q (%s)", t.Header["alg"], kid, k.Alg)
	}
	vk := k.VerificationKey()
	if pub, ok := vk.(*ecdsa.PublicKey); ok && !lowS(pub, t.Signature) {
		return nil, errors.New("issuer: ECDSA signature is not in its low-S form")
	}
	return vk, nil
}

// compactCanonical reports whether token is three unpadded base64url
// segments and nothing else: base64 decoders skip CR and LF, so without this
// one token would have many spellings (and many cache entries).
func compactCanonical(token string) bool {
	dots := 0
	for i := 0; i < len(token); i++ {
		switch c := token[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return dots == 2
}

// lowS reports whether an ECDSA signature r||s has s ≤ n/2. Both s and n−s
// verify; accepting only the low one gives every signature one form
// (signatures we mint are low-S: Go's crypto/ecdsa produces them).
func lowS(pub *ecdsa.PublicKey, sig []byte) bool {
	if len(sig)%2 != 0 {
		return false
	}
	s := new(big.Int).SetBytes(sig[len(sig)/2:])
	half := new(big.Int).Rsh(pub.Curve.Params().N, 1)
	return s.Cmp(half) <= 0
}
