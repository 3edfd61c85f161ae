package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Key is one signing key with its id and algorithm.
type Key struct {
	// KID is the key id written into token headers and the JWKS.
	KID string
	// Alg is the JWT algorithm this key signs with.
	Alg string

	private any // *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey or []byte
	public  any // the matching public key, or the secret for HS256
}

// New wraps a private key (or an HS256 secret as []byte) for alg, checking that
// the key fits the algorithm. An empty kid is replaced by the key's RFC 7638
// thumbprint (asymmetric keys) or a hash of the secret (HS256).
func New(kid, alg string, private any) (*Key, error) {
	if !Supported(alg) {
		return nil, fmt.Errorf("%w %q", ErrUnsupportedAlg, alg)
	}
	k := &Key{KID: kid, Alg: alg, private: private}
	switch p := private.(type) {
	case *ecdsa.PrivateKey:
		c := curveFor(alg)
		if c == nil || p.Curve != c {
			return nil, fmt.Errorf("keys: %s needs an EC key on %s", alg, curveName(alg))
		}
		k.public = &p.PublicKey
	case *rsa.PrivateKey:
		if alg != RS256 && alg != PS256 {
			return nil, fmt.Errorf("keys: %s cannot use an RSA key", alg)
		}
		if p.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("keys: RSA key has %d bits, at least %d required", p.N.BitLen(), minRSABits)
		}
		k.public = &p.PublicKey
	case ed25519.PrivateKey:
		if alg != EdDSA {
			return nil, fmt.Errorf("keys: %s cannot use an Ed25519 key", alg)
		}
		k.public = p.Public()
	case []byte:
		if alg != HS256 {
			return nil, fmt.Errorf("keys: %s cannot use a shared secret", alg)
		}
		if len(p) < hmacSecretBytes {
			return nil, fmt.Errorf("keys: HS256 secret has %d bytes, at least %d required", len(p), hmacSecretBytes)
		}
		k.public = p
	default:
		return nil, fmt.Errorf("keys: unsupported key type %T", private)
	}
	if k.KID == "" {
		k.KID = k.thumbprint()
	}
	return k, nil
}

// Generate creates a fresh key for alg with its thumbprint as kid.
func Generate(alg string) (*Key, error) {
	var (
		priv any
		err  error
	)
	switch alg {
	case ES256, ES384, ES512:
		priv, err = ecdsa.GenerateKey(curveFor(alg), rand.Reader)
	case RS256, PS256:
		priv, err = rsa.GenerateKey(rand.Reader, minRSABits)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case HS256:
		b := make([]byte, hmacSecretBytes)
		_, err = rand.Read(b)
		priv = b
	default:
		return nil, fmt.Errorf("%w %q", ErrUnsupportedAlg, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: generate %s: %w", alg, err)
	}
	return New("", alg, priv)
}

// SigningKey returns the value a JWT library signs with: a crypto.Signer or,
// for HS256, the secret bytes.
func (k *Key) SigningKey() any { return k.private }

// VerificationKey returns the value a JWT library verifies with: the public
// key or, for HS256, the secret bytes.
func (k *Key) VerificationKey() any { return k.public }

// Signer returns the private key as a crypto.Signer, or nil for HS256.
func (k *Key) Signer() crypto.Signer {
	s, _ := k.private.(crypto.Signer)
	return s
}

// thumbprint computes the RFC 7638 JWK thumbprint (base64url, first 128 bits
// is plenty for a key id) or, for secrets, a hash of the secret.
func (k *Key) thumbprint() string {
	var in []byte
	if jwk, ok := k.JWK(); ok {
		// RFC 7638: required members only, lexicographic order, no spaces.
		var m map[string]string
		switch jwk.Kty {
		case "EC":
			m = map[string]string{"crv": jwk.Crv, "kty": jwk.Kty, "x": jwk.X, "y": jwk.Y}
		case "RSA":
			m = map[string]string{"e": jwk.E, "kty": jwk.Kty, "n": jwk.N}
		case "OKP":
			m = map[string]string{"crv": jwk.Crv, "kty": jwk.Kty, "x": jwk.X}
		}
		in, _ = json.Marshal(m) // encoding/json sorts map keys
	} else {
		in = append([]byte("hs256:"), k.public.([]byte)...)
	}
	sum := sha256.Sum256(in)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func curveName(alg string) string {
	if c := curveFor(alg); c != nil {
		return c.Params().Name
	}
	return "?"
}
