package issuer

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"gatehouse/keys"
)

// Sign serialises claims (any JSON-encodable value) as a compact JWS signed by
// k, with the given typ header (omitted when empty) and kid override (k.KID
// when empty).
func Sign(k *keys.Key, typ, kid string, claims any) (string, error) {
	m := methodFor(k.Alg)
	if m == nil {
		return "", fmt.Errorf("%w %q", ErrUnsupportedAlg, k.Alg)
	}
	if kid == "" {
		kid = k.KID
	}
	hdr := struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ,omitempty"`
	}{k.Alg, kid, typ}
	h, err := json.Marshal(hdr)
	if err != nil {
		return "", fmt.Errorf("issuer: header: %w", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("issuer: claims: %w", err)
	}
	enc := base64.RawURLEncoding
	var sb strings.Builder
	sb.Grow(enc.EncodedLen(len(h)) + enc.EncodedLen(len(c)) + 1 + 350)
	buf := make([]byte, enc.EncodedLen(max(len(h), len(c))))
	enc.Encode(buf, h)
	sb.Write(buf[:enc.EncodedLen(len(h))])
	sb.WriteByte('.')
	enc.Encode(buf, c)
	sb.Write(buf[:enc.EncodedLen(len(c))])
	signingString := sb.String()
	sig, err := m.Sign(signingString, k.SigningKey())
	if err != nil {
		return "", fmt.Errorf("issuer: sign: %w", err)
	}
	if pk, ok := k.SigningKey().(*ecdsa.PrivateKey); ok {
		normalizeLowS(pk.Curve.Params().N, sig)
	}
	return signingString + "." + enc.EncodeToString(sig), nil
}

// normalizeLowS rewrites an ECDSA signature r||s in place to its low-S form
// (s ≤ n/2): both verify, and Verify accepts only the low one, so that every
// token has one spelling.
func normalizeLowS(n *big.Int, sig []byte) {
	half := len(sig) / 2
	s := new(big.Int).SetBytes(sig[half:])
	if s.Cmp(new(big.Int).Rsh(n, 1)) <= 0 {
		return
	}
	s.Sub(n, s)
	s.FillBytes(sig[half:])
}

// newJTI returns 128 random bits, base64url encoded.
func newJTI() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewAnonymousSubject returns a fresh "anon:<random>" subject.
func NewAnonymousSubject() string { return "anon:" + newJTI() }
