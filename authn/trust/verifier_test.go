package trust

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

var now = time.Unix(1_800_000_000, 0)

func clock() time.Time { return now }

func pemOf(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func claims(over map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{"iss": "https://idp.test/", "sub": "user-1", "aud": "api", "exp": now.Add(time.Minute).Unix(), "iat": now.Unix()}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func sign(t testing.TB, m jwt.SigningMethod, key any, c jwt.MapClaims, hdr map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	for k, v := range hdr {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// kinds are the trusted-issuer kinds every forged-token row runs against.
type kind struct {
	name   string
	cfg    Config
	method jwt.SigningMethod
	key    any // signing key
	pub    []byte
}

func kinds(t *testing.T) []kind {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	secret := []byte(strings.Repeat("s3cr3t-", 6))
	base := Config{Issuers: []string{"https://idp.test/"}, Audience: []string{"api"}}
	mk := func(name string, c Config, m jwt.SigningMethod, key any, pub []byte) kind {
		c.Name = name
		return kind{name, c, m, key, pub}
	}
	withPEM := func(pub []byte, algs ...string) Config {
		c := base
		c.PublicKeyPEM, c.Algorithms = pub, algs
		return c
	}
	hs := base
	hs.Secret, hs.Algorithms = secret, []string{"HS256"}
	rsaPub, ecPub, edPub := pemOf(t, &rsaKey.PublicKey), pemOf(t, &ecKey.PublicKey), pemOf(t, edKey.Public())
	srv := newJWKSServer(t, jose.JSONWebKey{Key: &ecKey.PublicKey, KeyID: "ec1", Algorithm: "ES512", Use: "sig"})
	jwks := base
	jwks.JWKSURL, jwks.InsecureAllowHTTP, jwks.Algorithms = srv.URL+"/jwks", true, []string{"ES512"}
	return []kind{
		mk("jwks", jwks, jwt.SigningMethodES512, ecKey, ecPub),
		mk("rsa-pem", withPEM(rsaPub, "RS256"), jwt.SigningMethodRS256, rsaKey, rsaPub),
		mk("ec-pem", withPEM(ecPub, "ES512"), jwt.SigningMethodES512, ecKey, ecPub),
		mk("ed25519-pem", withPEM(edPub, "EdDSA"), jwt.SigningMethodEdDSA, edKey, edPub),
		mk("hs-secret", hs, jwt.SigningMethodHS256, secret, nil),
	}
}

func TestVerifyEveryKind(t *testing.T) {
	ctx := context.Background()
	for _, k := range kinds(t) {
		t.Run(k.name, func(t *testing.T) {
			v, err := New(k.cfg, Options{Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			good := sign(t, k.method, k.key, claims(map[string]any{"permissions": []string{"realtime:subscriber:read:topic:*"}}), nil)
			tok, err := v.Verify(ctx, good)
			if err != nil || tok.Subject != "user-1" || tok.Issuer != k.name {
				t.Fatalf("good token: %+v %v", tok, err)
			}
			other, _ := rsa.GenerateKey(rand.Reader, 2048)
			forged := map[string]string{
				"none": func() string {
					s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
					return s
				}(),
				"expired":        sign(t, k.method, k.key, claims(map[string]any{"exp": now.Add(-time.Minute).Unix()}), nil),
				"no exp":         sign(t, k.method, k.key, claims(map[string]any{"exp": nil}), nil),
				"no sub":         sign(t, k.method, k.key, claims(map[string]any{"sub": nil}), nil),
				"future iat":     sign(t, k.method, k.key, claims(map[string]any{"iat": now.Add(time.Hour).Unix()}), nil),
				"not yet valid":  sign(t, k.method, k.key, claims(map[string]any{"nbf": now.Add(time.Hour).Unix()}), nil),
				"wrong issuer":   sign(t, k.method, k.key, claims(map[string]any{"iss": "https://evil.test/"}), nil),
				"wrong audience": sign(t, k.method, k.key, claims(map[string]any{"aud": "other"}), nil),
				"other key":      sign(t, jwt.SigningMethodRS256, other, claims(nil), nil),
				"crit header":    sign(t, k.method, k.key, claims(nil), map[string]any{"crit": []string{"exp"}}),
				"tampered": func() string {
					parts := strings.Split(good, ".")
					c := claims(map[string]any{"sub": "admin"})
					b, _ := json.Marshal(c)
					parts[1] = base64.RawURLEncoding.EncodeToString(b)
					return strings.Join(parts, ".")
				}(),
				// An attacker's own key, embedded or linked in the header,
				// is never used.
				"embedded jwk": sign(t, jwt.SigningMethodRS256, other, claims(nil), map[string]any{
					"jwk": jose.JSONWebKey{Key: &other.PublicKey, Algorithm: "RS256", Use: "sig"},
				}),
				"jku":           sign(t, jwt.SigningMethodRS256, other, claims(nil), map[string]any{"jku": "https://evil.test/jwks.json", "kid": "evil"}),
				"kid injection": sign(t, jwt.SigningMethodHS256, []byte(""), claims(nil), map[string]any{"kid": "../../../../dev/null"}),
			}
			if k.pub != nil {
				// Alg confusion: the public key's PEM bytes as an HS secret.
				forged["alg confusion"] = sign(t, jwt.SigningMethodHS256, k.pub, claims(nil), nil)
			}
			for name, tok := range forged {
				if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrInvalid) {
					t.Errorf("%s: err = %v, want ErrInvalid", name, err)
				}
			}
		})
	}
}

func TestConfigRefusals(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	pub := pemOf(t, &rsaKey.PublicKey)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	priv, _ := x509.MarshalECPrivateKey(ecKey)
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"no source":          {Config{Name: "x", Algorithms: []string{"RS256"}}, "one key source"},
		"two sources":        {Config{Name: "x", PublicKeyPEM: pub, JWKSURL: "https://a/", Algorithms: []string{"RS256"}}, "only one key source"},
		"no algorithms":      {Config{Name: "x", PublicKeyPEM: pub}, "allow-list is required"},
		"none":               {Config{Name: "x", PublicKeyPEM: pub, Algorithms: []string{"none"}}, "never accepted"},
		"HS with public key": {Config{Name: "x", PublicKeyPEM: pub, Algorithms: []string{"HS256"}}, "needs a shared secret"},
		"RS with secret":     {Config{Name: "x", Secret: []byte(strings.Repeat("a", 32)), Algorithms: []string{"RS256"}}, "needs a public key"},
		"short secret":       {Config{Name: "x", Secret: []byte("short"), Algorithms: []string{"HS256"}}, "too short"},
		"alg misfit":         {Config{Name: "x", PublicKeyPEM: pub, Algorithms: []string{"ES256"}}, "does not fit"},
		"private key":        {Config{Name: "x", PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: priv}), Algorithms: []string{"ES256"}}, "not a public key"},
		"leeway":             {Config{Name: "x", PublicKeyPEM: pub, Algorithms: []string{"RS256"}, Leeway: time.Minute}, "leeway"},
		"http jwks":          {Config{Name: "x", JWKSURL: "http://idp/jwks", Algorithms: []string{"RS256"}}, "must be https"},
		"discovery no iss":   {Config{Name: "x", Discovery: true, Algorithms: []string{"RS256"}}, "needs the issuer"},
	} {
		_, err := New(tc.cfg, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}

// jwksServer serves keys (as a JWKS) and counts the fetches.
type jwksServer struct {
	*httptest.Server
	keys    atomic.Pointer[[]jose.JSONWebKey]
	fetches atomic.Int32
	down    atomic.Bool
	maxAge  string
}

func newJWKSServer(t *testing.T, keys ...jose.JSONWebKey) *jwksServer {
	s := &jwksServer{}
	s.keys.Store(&keys)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": s.URL, "jwks_uri": s.URL + "/jwks"})
		case "/jwks":
			s.fetches.Add(1)
			if s.down.Load() {
				http.Error(w, "down", http.StatusBadGateway)
				return
			}
			if s.maxAge != "" {
				w.Header().Set("Cache-Control", "max-age="+s.maxAge)
			}
			_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: *s.keys.Load()})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func rsaJWK(t *testing.T, kid string) (*rsa.PrivateKey, jose.JSONWebKey) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}
}

func TestJWKSRotationRateLimitAndOutage(t *testing.T) {
	ctx := context.Background()
	k1, j1 := rsaJWK(t, "k1")
	srv := newJWKSServer(t, j1)
	at := now
	v, err := New(Config{Name: "idp", Issuers: []string{srv.URL}, Discovery: true, InsecureAllowHTTP: true,
		Algorithms: []string{"RS256"}, MinRefreshInterval: 10 * time.Second}, Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	if v.Ready() == nil {
		t.Fatal("ready before any fetch")
	}
	c := claims(map[string]any{"iss": srv.URL, "exp": at.Add(time.Hour).Unix()})
	if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, k1, c, map[string]any{"kid": "k1"})); err != nil {
		t.Fatal(err)
	}
	if v.Ready() != nil || srv.fetches.Load() != 1 {
		t.Fatalf("ready %v, fetches %d", v.Ready(), srv.fetches.Load())
	}
	// Invented kids: at most one fetch per MinRefreshInterval.
	for i := range 1000 {
		_, _ = v.Verify(ctx, sign(t, jwt.SigningMethodRS256, k1, c, map[string]any{"kid": "rand" + string(rune('a'+i%26))}))
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("1000 invented kids within the interval caused %d fetches, want 1", n)
	}
	// The provider rotates: once the interval has passed, the new kid loads.
	k2, j2 := rsaJWK(t, "k2")
	srv.keys.Store(&[]jose.JSONWebKey{j1, j2})
	at = at.Add(11 * time.Second)
	c["exp"] = at.Add(time.Hour).Unix()
	if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, k2, c, map[string]any{"kid": "k2"})); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	// An outage keeps the last good set.
	srv.down.Store(true)
	at = at.Add(2 * time.Hour)
	c["exp"] = at.Add(time.Hour).Unix()
	if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, k2, c, map[string]any{"kid": "k2", "x": 1})); err != nil {
		t.Fatalf("during an outage the last set must keep working: %v", err)
	}
	if v.Ready() != nil {
		t.Fatal("a verifier whose keys loaded once stays ready through an outage")
	}
}

func TestJWKSCacheControl(t *testing.T) {
	ctx := context.Background()
	k1, j1 := rsaJWK(t, "k1")
	srv := newJWKSServer(t, j1)
	srv.maxAge = "60"
	at := now
	v, err := New(Config{Name: "idp", JWKSURL: srv.URL + "/jwks", InsecureAllowHTTP: true, Algorithms: []string{"RS256"}},
		Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	c := claims(map[string]any{"exp": at.Add(time.Hour).Unix()})
	verify := func(n int) {
		t.Helper()
		c["n"] = n // a new token each time, past the verified-token cache
		if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, k1, c, map[string]any{"kid": "k1"})); err != nil {
			t.Fatal(err)
		}
	}
	verify(1)
	at = at.Add(30 * time.Second)
	verify(2)
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("fetches within max-age: %d", n)
	}
	at = at.Add(31 * time.Second)
	verify(3)
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches after max-age: %d, want 2", n)
	}
}

func TestVerifiedTokensAreCached(t *testing.T) {
	k := kinds(t)[0]
	v, err := New(k.cfg, Options{Now: clock, CacheSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, k.method, k.key, claims(nil), nil)
	for range 3 {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if len(v.cache.byID) != 1 {
		t.Fatalf("cache holds %d", len(v.cache.byID))
	}
	for i := range 5 {
		_, _ = v.Verify(context.Background(), sign(t, k.method, k.key, claims(map[string]any{"n": i}), nil))
	}
	if len(v.cache.byID) > 2 {
		t.Fatalf("cache grew past its size: %d", len(v.cache.byID))
	}
}
