package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// pemTypeSecret is the PEM block type Gatehouse writes HS256 secrets in.
const pemTypeSecret = "HMAC SECRET"

// ParsePEM parses a private key for alg: PKCS#8 ("PRIVATE KEY"), SEC1
// ("EC PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY"), or for HS256 an
// "HMAC SECRET" block.
func ParsePEM(kid, alg string, data []byte) (*Key, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("keys: no PEM block found")
	}
	var (
		priv any
		err  error
	)
	switch block.Type {
	case "PRIVATE KEY":
		priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		priv, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		priv, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case pemTypeSecret:
		priv = append([]byte(nil), block.Bytes...)
	default:
		return nil, fmt.Errorf("keys: unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: parse %s: %w", block.Type, err)
	}
	// ed25519 keys from PKCS#8 arrive as a value type already.
	return New(kid, alg, priv)
}

// MarshalPEM encodes the key's private part: PKCS#8 for key pairs, an
// "HMAC SECRET" block for HS256.
func (k *Key) MarshalPEM() ([]byte, error) {
	switch p := k.private.(type) {
	case []byte:
		return pem.EncodeToMemory(&pem.Block{Type: pemTypeSecret, Bytes: p}), nil
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
		der, err := x509.MarshalPKCS8PrivateKey(p)
		if err != nil {
			return nil, fmt.Errorf("keys: marshal: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	}
	return nil, fmt.Errorf("keys: cannot marshal %T", k.private)
}
