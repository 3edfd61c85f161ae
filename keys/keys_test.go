package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateRoundTrip(t *testing.T) {
	for _, alg := range Algorithms {
		t.Run(alg, func(t *testing.T) {
			k, err := Generate(alg)
			if err != nil {
				t.Fatal(err)
			}
			if k.KID == "" || k.Alg != alg {
				t.Fatalf("kid %q alg %q", k.KID, k.Alg)
			}
			p, err := k.MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParsePEM("", alg, p)
			if err != nil {
				t.Fatal(err)
			}
			if back.KID != k.KID {
				t.Fatalf("kid changed across PEM round trip: %q != %q", back.KID, k.KID)
			}
			_, public := k.JWK()
			if public == Symmetric(alg) {
				t.Fatalf("JWK published = %v for %s", public, alg)
			}
		})
	}
}

func TestParseLegacyPEM(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	pkcs1 := x509.MarshalPKCS1PrivateKey(rk)
	tests := []struct {
		name, alg, typ string
		der            []byte
	}{
		{"SEC1", ES256, "EC PRIVATE KEY", sec1},
		{"PKCS1 RS256", RS256, "RSA PRIVATE KEY", pkcs1},
		{"PKCS1 PS256", PS256, "RSA PRIVATE KEY", pkcs1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := pem.EncodeToMemory(&pem.Block{Type: tc.typ, Bytes: tc.der})
			if _, err := ParsePEM("k1", tc.alg, data); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestKeyAlgMismatch(t *testing.T) {
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	big, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name string
		alg  string
		key  any
		want string
	}{
		{"P-384 for ES256", ES256, ec384, "needs an EC key on P-256"},
		{"P-256 for ES512", ES512, ec256, "needs an EC key on P-521"},
		{"EC for RS256", RS256, ec256, "needs an EC key"},
		{"RSA for ES256", ES256, big, "cannot use an RSA key"},
		{"short RSA", RS256, small, "at least 2048"},
		{"secret for ES256", ES256, make([]byte, 32), "cannot use a shared secret"},
		{"short secret", HS256, make([]byte, 16), "at least 32"},
		{"unknown alg", "ES257", ec256, "unsupported algorithm"},
		{"none", "none", ec256, "unsupported algorithm"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New("", tc.alg, tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLoadDirKeepsKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	first, err := LoadDir(dir, []string{ES256, EdDSA, ES256})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Keys()) != 2 || first.Active().Alg != ES256 {
		t.Fatalf("keys = %d, active %s", len(first.Keys()), first.Active().Alg)
	}
	for _, name := range []string{"es256.pem", "eddsa.pem"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v, want 0600", name, st.Mode().Perm())
		}
	}
	again, err := LoadDir(dir, []string{ES256, EdDSA, ES512})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range first.Keys() {
		if _, ok := again.Lookup(k.KID); !ok {
			t.Fatalf("kid %s lost across restart", k.KID)
		}
	}
	if again.ForAlg(ES512) == nil {
		t.Fatal("new algorithm not generated")
	}
}

func TestWriteFileRefusesOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.pem")
	k, _ := Generate(ES256)
	if err := WriteFile(path, k); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, k); err == nil {
		t.Fatal("second write must fail, never clobber a key")
	}
}

func TestSetRules(t *testing.T) {
	a, _ := Generate(ES256)
	b, _ := Generate(ES256)
	h, _ := Generate(HS256)
	if _, err := NewSet(); err == nil {
		t.Fatal("empty set accepted")
	}
	dup := *a
	if _, err := NewSet(a, &dup); err == nil {
		t.Fatal("duplicate kid accepted")
	}
	s, err := NewSet(a, b, h)
	if err != nil {
		t.Fatal(err)
	}
	if s.Active() != a || s.ForAlg(ES256) != a || s.ForAlg(HS256) != h || s.ForAlg(EdDSA) != nil {
		t.Fatal("wrong selection")
	}
	doc, _ := json.Marshal(s.JWKS())
	if strings.Contains(string(doc), h.KID) || len(s.JWKS().Keys) != 2 {
		t.Fatalf("HS256 secret published: %s", doc)
	}
	if strings.Contains(string(doc), `"d"`) {
		t.Fatalf("private part published: %s", doc)
	}
}

func TestLoadSpecs(t *testing.T) {
	dir := t.TempDir()
	k, _ := Generate(ES384)
	path := filepath.Join(dir, "k.pem")
	if err := WriteFile(path, k); err != nil {
		t.Fatal(err)
	}
	s, err := Load([]Spec{{KID: "2026-11", Alg: ES384, File: path}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Active().KID != "2026-11" {
		t.Fatalf("configured kid not used: %s", s.Active().KID)
	}
	if _, err := Load([]Spec{{KID: "x", Alg: ES256, File: path}}); err == nil {
		t.Fatal("ES384 key loaded as ES256")
	}
	if _, err := Load([]Spec{{KID: "x", Alg: ES256, File: filepath.Join(dir, "missing")}}); err == nil {
		t.Fatal("missing file accepted")
	}
}
