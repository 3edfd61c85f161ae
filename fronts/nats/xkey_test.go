package nats

import (
	"bytes"
	"testing"

	"github.com/nats-io/nkeys"
)

func testSealer(t *testing.T) (*sealer, string) {
	t.Helper()
	kp, _ := nkeys.CreateCurveKeys()
	seed, _ := kp.Seed()
	s, err := newSealer(seed)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := s.PublicKey()
	return s, pub
}

// The sealer speaks nkeys' xkv1 format both ways: what a server seals with
// nkeys opens here, and what is sealed here opens with nkeys.
func TestSealerInteroperatesWithNkeys(t *testing.T) {
	s, ours := testSealer(t)
	server, _ := nkeys.CreateCurveKeys()
	serverPub, _ := server.PublicKey()
	msg := []byte("an authorization request")
	for range 2 { // the second time from the kept shared key
		sealed, err := server.Seal(msg, ours)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Open(sealed, serverPub)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("open nkeys-sealed: %q, %v", got, err)
		}
		answer, err := s.Seal([]byte("an answer"), serverPub)
		if err != nil {
			t.Fatal(err)
		}
		back, err := server.Open(answer, ours)
		if err != nil || string(back) != "an answer" {
			t.Fatalf("nkeys opens ours: %q, %v", back, err)
		}
	}
	if len(s.shared) != 1 {
		t.Fatalf("%d shared keys kept, want 1", len(s.shared))
	}
}

func TestSealerRefusals(t *testing.T) {
	s, ours := testSealer(t)
	server, _ := nkeys.CreateCurveKeys()
	serverPub, _ := server.PublicKey()
	other, _ := nkeys.CreateCurveKeys()
	otherPub, _ := other.PublicKey()
	sealed, _ := server.Seal([]byte("request"), ours)

	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	user, _ := nkeys.CreateUser()
	userPub, _ := user.PublicKey()
	for name, tc := range map[string]struct {
		in     []byte
		sender string
	}{
		"tampered":           {tampered, serverPub},
		"another sender":     {sealed, otherPub},
		"not a curve key":    {sealed, userPub},
		"garbage sender":     {sealed, "XNOTAKEY"},
		"wrong version":      {append([]byte("xkv2"), sealed[4:]...), serverPub},
		"too short":          {sealed[:28], serverPub},
		"plain text request": {[]byte("eyJhbGciOi..."), serverPub},
	} {
		if out, err := s.Open(tc.in, tc.sender); err == nil {
			t.Errorf("%s: opened to %q", name, out)
		}
	}
	if _, err := s.Seal([]byte("x"), "XNOTAKEY"); err == nil {
		t.Error("sealed to a malformed key")
	}
}

// Shared keys are kept for at most maxPeers servers; past that they are
// computed per message, and still right.
func TestSealerBoundsPeers(t *testing.T) {
	s, ours := testSealer(t)
	var last nkeys.KeyPair
	for range maxPeers + 5 {
		last, _ = nkeys.CreateCurveKeys()
		pub, _ := last.PublicKey()
		sealed, _ := last.Seal([]byte("hi"), ours)
		if got, err := s.Open(sealed, pub); err != nil || string(got) != "hi" {
			t.Fatalf("open: %q %v", got, err)
		}
	}
	if len(s.shared) != maxPeers {
		t.Fatalf("%d shared keys kept, want %d", len(s.shared), maxPeers)
	}
}
