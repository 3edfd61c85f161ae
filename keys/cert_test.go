package keys

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"testing"
)

// The certificate binds the key, verifies under it, and is the same on
// every call (so across restarts), for every asymmetric algorithm.
func TestCertificate(t *testing.T) {
	for _, alg := range []string{ES256, ES384, ES512, RS256, PS256, EdDSA} {
		k, err := Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		der, err := k.Certificate()
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		again, _ := k.Certificate()
		if !bytes.Equal(der, again) {
			t.Fatalf("%s: the certificate changes between calls", alg)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
			t.Fatalf("%s: not self-signed by the key: %v", alg, err)
		}
		spki, _ := x509.MarshalPKIXPublicKey(k.VerificationKey())
		if !bytes.Equal(cert.RawSubjectPublicKeyInfo, spki) {
			t.Fatalf("%s: the certificate holds another key", alg)
		}
		j, _ := k.JWK()
		if alg == EdDSA {
			if j.X5c != nil {
				t.Fatal("EdDSA JWK carries x5c")
			}
			continue
		}
		sum := sha256.Sum256(der)
		if len(j.X5c) != 1 || j.X5c[0] != base64.StdEncoding.EncodeToString(der) || j.X5tS256 != base64.RawURLEncoding.EncodeToString(sum[:]) {
			t.Fatalf("%s: JWK x5c/x5t#S256 %+v", alg, j)
		}
	}
	hs, _ := Generate(HS256)
	if _, err := hs.Certificate(); err == nil {
		t.Fatal("HS256 has a certificate")
	}
}
