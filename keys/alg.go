package keys

import (
	"crypto/elliptic"
	"fmt"
)

// Supported algorithm names, as they appear in JWT headers and in the config.
const (
	ES256 = "ES256"
	ES384 = "ES384"
	ES512 = "ES512"
	RS256 = "RS256"
	PS256 = "PS256"
	EdDSA = "EdDSA"
	HS256 = "HS256"
)

// Algorithms lists every algorithm Gatehouse can sign and verify with.
var Algorithms = []string{ES256, ES384, ES512, RS256, PS256, EdDSA, HS256}

// ErrUnsupportedAlg is returned for an algorithm name outside Algorithms.
var ErrUnsupportedAlg = fmt.Errorf("keys: unsupported algorithm")

// minRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3).
const minRSABits = 2048

// hmacSecretBytes is the size of generated HS256 secrets.
const hmacSecretBytes = 32

// Supported reports whether alg is one of Algorithms.
func Supported(alg string) bool {
	for _, a := range Algorithms {
		if a == alg {
			return true
		}
	}
	return false
}

// Symmetric reports whether alg uses a shared secret rather than a key pair.
func Symmetric(alg string) bool { return alg == HS256 }

func curveFor(alg string) elliptic.Curve {
	switch alg {
	case ES256:
		return elliptic.P256()
	case ES384:
		return elliptic.P384()
	case ES512:
		return elliptic.P521()
	}
	return nil
}
