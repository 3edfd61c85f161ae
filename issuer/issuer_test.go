package issuer

import (
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/keys"
	"gatehouse/policy"
	"gatehouse/revocation"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixedNow is the clock of every test here.
var fixedNow = time.Unix(1_800_000_000, 0)

// testKeys loads the fixed keys under testdata (generated once, so golden
// files stay stable) and adds a fresh key of every other algorithm.
func testKeys(t testing.TB) *keys.Set {
	t.Helper()
	var ks []*keys.Key
	for _, alg := range keys.Algorithms {
		path := filepath.Join("testdata", strings.ToLower(alg)+".pem")
		data, err := os.ReadFile(path)
		if err != nil {
			k, gerr := keys.Generate(alg)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if werr := keys.WriteFile(path, k); werr != nil {
				t.Fatal(werr)
			}
			data, _ = os.ReadFile(path)
		}
		k, err := keys.ParsePEM("", alg, data)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	s, err := keys.NewSet(ks...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTestIssuer(t testing.TB, now *time.Time, opts ...func(*Config)) *Issuer {
	t.Helper()
	cfg := Config{
		Issuer:   "https://rt.example.com",
		Audience: "realtime",
		Now:      func() time.Time { return *now },
	}
	for _, o := range opts {
		o(&cfg)
	}
	i, err := New(cfg, testKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	return i
}

var ada = policy.Identity{Subject: "auth0|42", Name: "Ada", Roles: []string{"member"}, SessionID: "s1"}
var adaGrants = policy.Grants{Subscribe: []string{"private-chat"}, Publish: []string{"private-chat"}}

func TestMintVerifyEveryAlg(t *testing.T) {
	now := fixedNow
	iss := newTestIssuer(t, &now)
	for _, alg := range keys.Algorithms {
		t.Run(alg, func(t *testing.T) {
			tok, err := iss.Mint("", Request{Identity: ada, Grants: adaGrants, Alg: alg})
			if err != nil {
				t.Fatal(err)
			}
			c, err := iss.Verify(tok.Value)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != ada.Subject || c.SessionID != "s1" || c.Anonymous || c.Name != "Ada" {
				t.Fatalf("claims %+v", c)
			}
			g := c.Grants()
			if !g.CanSubscribe("private-chat") || g.CanSubscribe("private-other") {
				t.Fatalf("grants %+v", g)
			}
			if got := tok.ExpiresAt.Sub(tok.IssuedAt); got != DefaultTTL {
				t.Fatalf("lifetime %s", got)
			}
		})
	}
}

func TestMintedClaimsGolden(t *testing.T) {
	now := fixedNow
	iss := newTestIssuer(t, &now)
	tok, err := iss.Mint("", Request{Identity: ada, Grants: adaGrants})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok.Value, ".")
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if jti, _ := claims["jti"].(string); len(jti) != 22 {
		t.Fatalf("jti %q is not 128 random bits", jti)
	}
	claims["jti"] = "<128-bit random>"
	got, _ := json.MarshalIndent(map[string]any{"header": json.RawMessage(hdr), "claims": claims}, "", "  ")
	golden(t, "default_claims.golden", got)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs:\n got %s\nwant %s", name, got, want)
	}
}

// forge builds a token from raw header and claims, signed by sign (which
// gets the signing input); nil sign leaves the signature empty.
func forge(hdr, claims map[string]any, sign func(string) []byte) string {
	h, _ := json.Marshal(hdr)
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	var sig []byte
	if sign != nil {
		sig = sign(in)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func goodClaims() map[string]any {
	return map[string]any{
		"iss": "https://rt.example.com", "sub": "auth0|42", "aud": "realtime",
		"iat": fixedNow.Unix(), "nbf": fixedNow.Unix(), "exp": fixedNow.Add(5 * time.Minute).Unix(),
		"jti": "j", "anon": false, "roles": []string{}, "groups": []string{},
		"permissions": []string{"realtime:subscriber:read:topic:*"},
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func TestVerifyRejectsForgeries(t *testing.T) {
	now := fixedNow
	iss := newTestIssuer(t, &now)
	es := iss.Keys().ForAlg(keys.ES256)
	hs := iss.Keys().ForAlg(keys.HS256)
	other, _ := keys.Generate(keys.ES256)
	signES := func(k *keys.Key) func(string) []byte {
		return func(in string) []byte {
			s, err := jwt.SigningMethodES256.Sign(in, k.SigningKey())
			if err != nil {
				t.Fatal(err)
			}
			normalizeLowS(elliptic.P256().Params().N, s)
			return s
		}
	}
	hmacWith := func(secret []byte) func(string) []byte {
		return func(in string) []byte {
			s, _ := jwt.SigningMethodHS256.Sign(in, secret)
			return s
		}
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(es.VerificationKey())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	jwk, _ := es.JWK()
	jwkJSON, _ := json.Marshal(jwk)
	hdr := func(kv ...any) map[string]any {
		return with(map[string]any{"alg": "ES256", "kid": es.KID, "typ": "at+jwt"}, kv...)
	}
	valid := forge(hdr(), goodClaims(), signES(es))
	if _, err := iss.Verify(valid); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
	parts := strings.Split(valid, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[5] ^= 0x01
	tamperedSig := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	tamperedBody := parts[0] + "." + base64.RawURLEncoding.EncodeToString(mustJSON(with(goodClaims(), "sub", "admin"))) + "." + parts[2]
	// The same signature in its other valid form: (r, n−s).
	highS, _ := base64.RawURLEncoding.DecodeString(parts[2])
	n := elliptic.P256().Params().N
	new(big.Int).Sub(n, new(big.Int).SetBytes(highS[32:])).FillBytes(highS[32:])
	highSToken := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(highS)
	withCRLF := parts[0] + "." + parts[1] + "." + parts[2][:10] + "\r\n" + parts[2][10:]
	withPadding := valid + "=="

	tests := []struct {
		name  string
		token string
	}{
		{"alg none", forge(hdr("alg", "none"), goodClaims(), nil)},
		{"alg None", forge(hdr("alg", "None"), goodClaims(), nil)},
		{"alg NONE", forge(hdr("alg", "NONE"), goodClaims(), nil)},
		{"alg nOnE", forge(hdr("alg", "nOnE"), goodClaims(), nil)},
		{"alg none with signature", forge(hdr("alg", "none"), goodClaims(), signES(es))},
		{"HS256 keyed with the public key PEM", forge(hdr("alg", "HS256"), goodClaims(), hmacWith(pubPEM))},
		{"HS256 keyed with the public JWK", forge(hdr("alg", "HS256"), goodClaims(), hmacWith(jwkJSON))},
		{"HS256 key under an ES256 alg", forge(hdr("kid", hs.KID), goodClaims(), hmacWith(hs.SigningKey().([]byte)))},
		{"stripped signature", parts[0] + "." + parts[1] + "."},
		{"no signature part", parts[0] + "." + parts[1]},
		{"tampered signature", tamperedSig},
		{"tampered payload", tamperedBody},
		{"ECDSA r=s=0", forge(hdr(), goodClaims(), func(string) []byte { return make([]byte, 64) })},
		{"signed by another key with our kid", forge(hdr(), goodClaims(), signES(other))},
		{"unknown kid", forge(hdr("kid", other.KID), goodClaims(), signES(other))},
		{"missing kid", forge(hdr("kid", nil), goodClaims(), signES(es))},
		{"empty kid", forge(hdr("kid", ""), goodClaims(), signES(es))},
		{"typ JWT", forge(hdr("typ", "JWT"), goodClaims(), signES(es))},
		{"no typ", forge(hdr("typ", nil), goodClaims(), signES(es))},
		{"jku header", forge(hdr("jku", "https://evil.example/jwks"), goodClaims(), signES(es))},
		{"x5u header", forge(hdr("x5u", "https://evil.example/cert"), goodClaims(), signES(es))},
		{"jwk header", forge(hdr("jwk", jwk), goodClaims(), signES(es))},
		{"wrong iss", forge(hdr(), with(goodClaims(), "iss", "https://evil.example"), signES(es))},
		{"no iss", forge(hdr(), with(goodClaims(), "iss", nil), signES(es))},
		{"wrong aud", forge(hdr(), with(goodClaims(), "aud", "other"), signES(es))},
		{"no aud", forge(hdr(), with(goodClaims(), "aud", nil), signES(es))},
		{"no exp", forge(hdr(), with(goodClaims(), "exp", nil), signES(es))},
		{"expired past leeway", forge(hdr(), with(goodClaims(), "exp", fixedNow.Add(-31*time.Second).Unix()), signES(es))},
		{"nbf in the future", forge(hdr(), with(goodClaims(), "nbf", fixedNow.Add(time.Minute).Unix()), signES(es))},
		{"iat in the future", forge(hdr(), with(goodClaims(), "iat", fixedNow.Add(time.Minute).Unix()), signES(es))},
		{"no sub", forge(hdr(), with(goodClaims(), "sub", nil), signES(es))},
		{"anonymous with a session", forge(hdr(), with(goodClaims(), "anon", true, "sid", "s9"), signES(es))},
		{"ECDSA high-S twin of a valid signature", highSToken},
		{"CR/LF inside the signature segment", withCRLF},
		{"LF alone inside the payload", parts[0] + "." + parts[1][:8] + "\n" + parts[1][8:] + "." + parts[2]},
		{"padded signature", withPadding},
		{"exp as a numeric string", forge(hdr(), with(goodClaims(), "exp", strconv.FormatInt(fixedNow.Add(time.Hour).Unix(), 10)), signES(es))},
		{"iat as a numeric string", forge(hdr(), with(goodClaims(), "iat", strconv.FormatInt(fixedNow.Unix(), 10)), signES(es))},
		{"garbage", "not.a.token"},
		{"empty", ""},
		{"huge", strings.Repeat("a", 20000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := iss.Verify(tc.token)
			if err == nil {
				t.Fatalf("forged token accepted: %+v", c)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err %v does not wrap ErrInvalidToken", err)
			}
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	now := fixedNow
	iss := newTestIssuer(t, &now)
	tok, _ := iss.Mint("", Request{Identity: ada, Grants: adaGrants})
	now = fixedNow.Add(DefaultTTL + 29*time.Second)
	if _, err := iss.Verify(tok.Value); err != nil {
		t.Fatalf("within leeway refused: %v", err)
	}
	now = fixedNow.Add(DefaultTTL + 31*time.Second)
	if _, err := iss.Verify(tok.Value); err == nil {
		t.Fatal("expired token accepted")
	}
}

func TestVerifyTypSpellings(t *testing.T) {
	now := fixedNow
	iss := newTestIssuer(t, &now)
	es := iss.Keys().ForAlg(keys.ES256)
	for _, typ := range []string{"at+jwt", "application/at+jwt", "AT+JWT"} {
		tok := forge(map[string]any{"alg": "ES256", "kid": es.KID, "typ": typ}, goodClaims(), func(in string) []byte {
			s, _ := jwt.SigningMethodES256.Sign(in, es.SigningKey())
			normalizeLowS(elliptic.P256().Params().N, s)
			return s
		})
		if _, err := iss.Verify(tok); err != nil {
			t.Fatalf("typ %q refused: %v", typ, err)
		}
	}
}

func TestVerifyRevoked(t *testing.T) {
	now := fixedNow
	revoked := map[string]bool{}
	iss := newTestIssuer(t, &now, func(c *Config) {
		c.Revocations = revocation.CheckerFunc(func(sid string) bool { return revoked[sid] })
	})
	tok, _ := iss.Mint("", Request{Identity: ada, Grants: adaGrants})
	if _, err := iss.Verify(tok.Value); err != nil {
		t.Fatal(err)
	}
	revoked["s1"] = true
	_, err := iss.Verify(tok.Value)
	if !errors.Is(err, ErrRevoked) || !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("revoked session: err = %v", err)
	}
}

func TestMintRules(t *testing.T) {
	now := fixedNow
	iss := newTestIssuer(t, &now)
	tests := []struct {
		name string
		prof string
		req  Request
		want error
	}{
		{"unknown profile", "nope", Request{Identity: ada}, ErrUnknownProfile},
		{"ttl over 1h", "", Request{Identity: ada, TTL: 2 * time.Hour}, nil},
		{"operator ttl over 24h", "", Request{Identity: ada, TTL: 25 * time.Hour, AllowLongTTL: true}, nil},
		{"negative ttl", "", Request{Identity: ada, TTL: -time.Second}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := iss.Mint(tc.prof, tc.req)
			if err == nil {
				t.Fatal("minted")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	tok, err := iss.Mint("", Request{Identity: ada, TTL: 24 * time.Hour, AllowLongTTL: true})
	if err != nil || tok.ExpiresAt.Sub(tok.IssuedAt) != 24*time.Hour {
		t.Fatalf("operator token: %v", err)
	}
	anon := policy.Identity{Subject: NewAnonymousSubject(), Anonymous: true}
	tok, err = iss.Mint("", Request{Identity: anon})
	if err != nil {
		t.Fatal(err)
	}
	c, err := iss.Verify(tok.Value)
	if err != nil || !c.Anonymous || c.SessionID != "" || c.Roles == nil || c.Groups == nil || c.Permissions == nil {
		t.Fatalf("anonymous claims %+v err %v", c, err)
	}
}

func TestNewValidates(t *testing.T) {
	ks := testKeys(t)
	for _, cfg := range []Config{
		{Audience: "realtime"},
		{Issuer: "https://x"},
		{Issuer: "https://x", Audience: "a", TTL: 2 * time.Hour},
	} {
		if _, err := New(cfg, ks); err == nil {
			t.Fatalf("accepted %+v", cfg)
		}
	}
	if _, err := New(Config{Issuer: "https://x", Audience: "a"}, nil); err == nil {
		t.Fatal("nil key set accepted")
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// FuzzVerify feeds arbitrary strings to the verifier: it must never panic,
// and whatever passes must carry exactly the claims the issuer minted (a
// fuzzer cannot forge a signature, so anything else is a verifier bug).
// Fuzz workers mint their own seeds, so the check is on claims, not bytes.
func FuzzVerify(f *testing.F) {
	now := fixedNow
	iss := newTestIssuer(f, &now)
	want := strings.Join(adaGrants.Permissions(), " ")
	for _, alg := range keys.Algorithms {
		tok, err := iss.Mint("", Request{Identity: ada, Grants: adaGrants, Alg: alg})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok.Value)
		p := strings.Split(tok.Value, ".")
		f.Add(p[0] + "." + p[1] + ".")
		f.Add(p[0] + ".." + p[2])
	}
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := iss.Verify(token)
		if err == nil && (c.Subject != ada.Subject || c.SessionID != ada.SessionID ||
			strings.Join(c.Permissions, " ") != want || c.Anonymous) {
			t.Fatalf("forged claims accepted: %q -> %+v", token, c)
		}
	})
}

// Claims from the verified-token cache are shared by every caller of the
// same token. Two callers appending to their identity's roles must not
// write into the same spare slot of the cached array (encoding/json gives
// three roles a capacity of four).
func TestCachedClaimsStayUntouched(t *testing.T) {
	now := fixedNow
	iss := newTestIssuer(t, &now, func(c *Config) { c.Cache = NewCache(16, func() time.Time { return now }) })
	tok, _ := iss.Mint("", Request{Identity: policy.Identity{Subject: "u", Roles: []string{"a", "b", "c"}}, Grants: adaGrants})
	first, err := iss.Verify(tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	second, err := iss.Verify(tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Fatal("second verify should be a cache hit")
	}
	a := append(first.Identity().Roles, "for-a")
	b := append(second.Identity().Roles, "for-b")
	if a[3] != "for-a" || b[3] != "for-b" {
		t.Fatalf("callers share the cached array: %v %v", a, b)
	}
}
