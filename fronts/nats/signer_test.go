package nats

import (
	"bytes"
	"testing"

	"github.com/nats-io/nkeys"
)

// The signer is the key pair it wraps: the same public key and, ed25519
// being deterministic, the same signatures, which the public key verifies.
func TestSignerIsItsKeyPair(t *testing.T) {
	kp, _ := nkeys.CreateAccount()
	seed, _ := kp.Seed()
	s, err := newSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := kp.PublicKey()
	if got, _ := s.PublicKey(); got != want {
		t.Fatalf("public key %s, want %s", got, want)
	}
	msg := []byte("a JWT's header and claims")
	sig, _ := s.Sign(msg)
	ref, _ := kp.Sign(msg)
	if !bytes.Equal(sig, ref) {
		t.Fatal("signature differs from the key pair's")
	}
	pub, _ := nkeys.FromPublicKey(want)
	if pub.Verify(msg, sig) != nil {
		t.Fatal("signature does not verify")
	}
	if _, err := newSigner([]byte("SAgarbage")); err == nil {
		t.Fatal("a bad seed made a signer")
	}
}
