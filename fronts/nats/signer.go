package nats

import (
	"crypto/ed25519"
	"fmt"

	"github.com/nats-io/nkeys"
)

// signer is the account key pair the callout signs with, with its public
// key and its ed25519 private key derived from the seed once. An nkeys key
// pair keeps only the seed and derives both again on every PublicKey and
// Sign; encoding a JWT calls each once, and an answer encodes two, so that
// was four key derivations per connect, more than the signatures cost.
// Everything else (Seed, Verify, Seal, Open, Wipe) is the key pair's own.
type signer struct {
	nkeys.KeyPair
	pub  string
	priv ed25519.PrivateKey
}

// newSigner returns the signer of an nkeys seed.
func newSigner(seed []byte) (*signer, error) {
	kp, err := nkeys.FromSeed(seed)
	if err != nil {
		return nil, err
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, err
	}
	_, raw, err := nkeys.DecodeSeed(seed)
	if err != nil {
		return nil, err
	}
	if len(raw) != ed25519.SeedSize {
		return nil, fmt.Errorf("seed of %d bytes, want %d", len(raw), ed25519.SeedSize)
	}
	return &signer{KeyPair: kp, pub: pub, priv: ed25519.NewKeyFromSeed(raw)}, nil
}

// PublicKey returns the public key derived once.
func (s *signer) PublicKey() (string, error) { return s.pub, nil }

// Sign signs input with the private key derived once.
func (s *signer) Sign(input []byte) ([]byte, error) { return ed25519.Sign(s.priv, input), nil }
