package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
)

// Certificate validity: a fixed start and RFC 5280's "no well-defined
// expiration", so the certificate is a function of the key and its id.
var (
	certNotBefore = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	certNotAfter  = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// Certificate returns a self-signed X.509 certificate (DER) binding the
// key's public half, for verifiers that load a certificate rather than a
// key (as Auth0's "Download certificate" gives). It is deterministic: the
// same key and kid give the same certificate on every start, with no file
// to keep (ECDSA is signed with an RFC 6979 nonce, RSA with PKCS #1 v1.5,
// Ed25519 is deterministic). HS256 keys have none.
func (k *Key) Certificate() ([]byte, error) {
	if Symmetric(k.Alg) {
		return nil, errors.New("keys: an HS256 secret has no certificate")
	}
	serial := sha256.Sum256([]byte("gatehouse certificate\x00" + k.KID))
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serial[:16]),
		Subject:               pkix.Name{CommonName: "Gatehouse signing key " + k.KID},
		NotBefore:             certNotBefore,
		NotAfter:              certNotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	if _, ok := k.private.(*rsa.PrivateKey); ok {
		tmpl.SignatureAlgorithm = x509.SHA256WithRSA
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, k.public, deterministic{k.Signer()})
	if err != nil {
		return nil, fmt.Errorf("keys: certificate for %s: %w", k.KID, err)
	}
	return der, nil
}

// CertificatePEM is Certificate as a PEM block.
func (k *Key) CertificatePEM() ([]byte, error) {
	der, err := k.Certificate()
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// PublicPEM is the public key as a PEM SPKI block.
func (k *Key) PublicPEM() ([]byte, error) {
	if Symmetric(k.Alg) {
		return nil, errors.New("keys: an HS256 secret has no public key")
	}
	der, err := x509.MarshalPKIXPublicKey(k.public)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// deterministic signs without randomness: the signer's deterministic mode
// (ECDSA: RFC 6979 when the reader is nil).
type deterministic struct{ s crypto.Signer }

func (d deterministic) Public() crypto.PublicKey { return d.s.Public() }

func (d deterministic) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	switch d.s.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
		return d.s.Sign(nil, digest, opts)
	}
	return nil, fmt.Errorf("keys: cannot sign a certificate with %T", d.s)
}
