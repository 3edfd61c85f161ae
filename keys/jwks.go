package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
)

// JWK is the public part of a key as RFC 7517 publishes it.
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	// X5c is the key's self-signed certificate (standard base64 DER) and
	// X5tS256 its SHA-256 thumbprint (RFC 7517 §4.7, §4.9); RSA and EC keys.
	X5c     []string `json:"x5c,omitempty"`
	X5tS256 string   `json:"x5t#S256,omitempty"`
}

// JWKS is a JSON Web Key Set document.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK returns the key's public JWK, and false for HS256 keys, whose secret is
// never published.
func (k *Key) JWK() (JWK, bool) {
	j := JWK{Use: "sig", Kid: k.KID, Alg: k.Alg}
	b64 := base64.RawURLEncoding.EncodeToString
	switch p := k.public.(type) {
	case *ecdsa.PublicKey:
		size := (p.Curve.Params().BitSize + 7) / 8
		ecdh, err := p.ECDH()
		if err != nil {
			return JWK{}, false
		}
		raw := ecdh.Bytes() // 0x04 || X || Y, fixed width
		j.Kty, j.Crv = "EC", p.Curve.Params().Name
		j.X, j.Y = b64(raw[1:1+size]), b64(raw[1+size:])
	case *rsa.PublicKey:
		j.Kty = "RSA"
		j.N = b64(p.N.Bytes())
		j.E = b64(big.NewInt(int64(p.E)).Bytes())
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(p)
	default:
		return JWK{}, false
	}
	if j.Kty == "RSA" || j.Kty == "EC" {
		if der, err := k.Certificate(); err == nil {
			sum := sha256.Sum256(der)
			j.X5c = []string{base64.StdEncoding.EncodeToString(der)}
			j.X5tS256 = b64(sum[:])
		}
	}
	return j, true
}
