package nats

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/nacl/box"
)

// maxPeers bounds the shared keys kept: one per NATS server that sends
// requests, so a cluster's worth; past it, keys are computed per message.
const maxPeers = 256

// nonceLen is the NaCl box nonce's length.
const nonceLen = 24

// sealer is the callout's curve key pair (xkey). It opens requests and
// seals answers in nkeys' xkv1 format ("xkv1", a random 24-byte nonce,
// then a NaCl box), and keeps the shared key it agrees with each server:
// an nkeys curve key pair agrees it again (one X25519) for every Open and
// every Seal, two per connect. Everything else is the key pair's own.
type sealer struct {
	nkeys.KeyPair
	seed [32]byte

	mu     sync.Mutex
	shared map[string]*[32]byte // server xkey -> shared key
}

// newSealer returns the sealer of a curve seed (S X…).
func newSealer(seed []byte) (*sealer, error) {
	kp, err := nkeys.FromCurveSeed(seed)
	if err != nil {
		return nil, err
	}
	_, raw, err := nkeys.DecodeSeed(seed)
	if err != nil {
		return nil, err
	}
	if len(raw) != 32 {
		return nil, fmt.Errorf("curve seed of %d bytes, want 32", len(raw))
	}
	s := &sealer{KeyPair: kp, shared: make(map[string]*[32]byte)}
	copy(s.seed[:], raw)
	return s, nil
}

// sharedKey returns the key agreed with the curve public key peer.
func (s *sealer) sharedKey(peer string) (*[32]byte, error) {
	s.mu.Lock()
	k, ok := s.shared[peer]
	s.mu.Unlock()
	if ok {
		return k, nil
	}
	raw, err := nkeys.Decode(nkeys.PrefixByteCurve, []byte(peer))
	if err != nil || len(raw) != 32 {
		return nil, errors.New("nats: not a curve public key")
	}
	var pub [32]byte
	copy(pub[:], raw)
	k = new([32]byte)
	box.Precompute(k, &pub, &s.seed)
	s.mu.Lock()
	if len(s.shared) < maxPeers {
		s.shared[peer] = k
	}
	s.mu.Unlock()
	return k, nil
}

// Open decrypts input sealed by sender for this key.
func (s *sealer) Open(input []byte, sender string) ([]byte, error) {
	const head = len(nkeys.XKeyVersionV1) + nonceLen
	if len(input) <= head || !bytes.HasPrefix(input, []byte(nkeys.XKeyVersionV1)) {
		return nil, errors.New("nats: not an xkv1 message")
	}
	k, err := s.sharedKey(sender)
	if err != nil {
		return nil, err
	}
	var nonce [nonceLen]byte
	copy(nonce[:], input[len(nkeys.XKeyVersionV1):head])
	out, ok := box.OpenAfterPrecomputation(nil, input[head:], &nonce, k)
	if !ok {
		return nil, errors.New("nats: message does not decrypt")
	}
	return out, nil
}

// Seal encrypts input for recipient.
func (s *sealer) Seal(input []byte, recipient string) ([]byte, error) {
	k, err := s.sharedKey(recipient)
	if err != nil {
		return nil, err
	}
	var nonce [nonceLen]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(nkeys.XKeyVersionV1)+nonceLen+len(input)+box.Overhead)
	out = append(append(out, nkeys.XKeyVersionV1...), nonce[:]...)
	return box.SealAfterPrecomputation(out, input, &nonce, k), nil
}
