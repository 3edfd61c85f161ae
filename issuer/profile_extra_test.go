package issuer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/keys"
	"gatehouse/policy"
)

var pfNow = time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)

const testAblySecret = "EVKVTCBlzLBPYJiCZTsIW_pqylJ9WVRB5K9P19Ap1y0"

// testIssuer builds an issuer with a fixed clock, keys of the given
// algorithms (first active) with fixed kids, and every extra profile.
func testIssuer(t testing.TB, algs ...string) *Issuer {
	t.Helper()
	if len(algs) == 0 {
		algs = []string{keys.ES256}
	}
	var ks []*keys.Key
	for _, alg := range algs {
		g, err := keys.Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		k, err := keys.New("test-"+alg, alg, g.SigningKey())
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	set, err := keys.NewSet(ks...)
	if err != nil {
		t.Fatal(err)
	}
	i, err := New(Config{Issuer: "https://rt.example.com", Audience: "realtime", Now: func() time.Time { return pfNow }}, set)
	if err != nil {
		t.Fatal(err)
	}
	if err := i.RegisterProfiles(ProfilesConfig{
		Centrifugo: &CentrifugoConfig{Audience: "centrifugo"},
		Ably:       &AblyConfig{KeyName: "appId.keyId", KeySecret: testAblySecret},
	}); err != nil {
		t.Fatal(err)
	}
	return i
}

var pfAda = policy.Identity{Subject: "auth0|42", Name: "Ada", Roles: []string{"member"}, SessionID: "sid-1"}

var pfGrants = policy.Grants{
	Subscribe: []string{"public-*", "private-chat", "presence-lobby", "chat:*", "private-user-auth0=7C42"},
	Publish:   []string{"private-chat", "chat:*"},
}

func claimNames(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

// TestCentrifugoConnectionToken checks the connection token claim by claim
// against Centrifugo's documented connection JWT claims.
func TestCentrifugoConnectionToken(t *testing.T) {
	i := testIssuer(t)
	tok, err := i.Mint(CentrifugoProfile, Request{Identity: pfAda, Grants: pfGrants})
	if err != nil {
		t.Fatal(err)
	}
	hdr, c, pretty := decodeJWT(t, tok.Value)
	checkGolden(t, "centrifugo.golden", pretty)
	if hdr["alg"] != "ES256" || hdr["kid"] != "test-ES256" || hdr["typ"] != "JWT" {
		t.Errorf("header = %v", hdr)
	}
	// Centrifugo: sub is the user id ("" would be anonymous); exp/iat are
	// unix seconds; aud and iss are checked when token_audience/issuer are set;
	// info is attached to the connection; channels (server-side subs) unused.
	if want := []string{"aud", "exp", "iat", "info", "iss", "jti", "sub"}; !slices.Equal(claimNames(c), want) {
		t.Errorf("claims = %v, want exactly %v", claimNames(c), want)
	}
	for _, tc := range []struct {
		name string
		got  any
		want any
	}{
		{"sub", c["sub"], "auth0|42"},
		{"aud", c["aud"], "centrifugo"},
		{"iss", c["iss"], "https://rt.example.com"},
		{"iat", c["iat"], float64(pfNow.Unix())},
		{"exp", c["exp"], float64(pfNow.Add(DefaultTTL).Unix())},
		{"info", c["info"], map[string]any{"name": "Ada"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !equalJSON(tc.got, tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
			}
		})
	}
	// A Centrifugo token is for Centrifugo only: our verifier refuses it.
	if _, err := i.Verify(tok.Value); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify(centrifugo token) = %v, want ErrInvalidToken", err)
	}
}

// TestCentrifugoSubscriptionToken checks the subscription token against
// Centrifugo's documented subscription JWT claims and the policy check.
func TestCentrifugoSubscriptionToken(t *testing.T) {
	i := testIssuer(t)
	tok, err := i.Mint(CentrifugoSubProfile, Request{Identity: pfAda, Grants: pfGrants, Params: map[string]string{"channel": "chat:index"}})
	if err != nil {
		t.Fatal(err)
	}
	_, c, pretty := decodeJWT(t, tok.Value)
	checkGolden(t, "centrifugo-sub.golden", pretty)
	if want := []string{"aud", "channel", "exp", "iat", "iss", "jti", "sub"}; !slices.Equal(claimNames(c), want) {
		t.Errorf("claims = %v, want exactly %v", claimNames(c), want)
	}
	if c["channel"] != "chat:index" || c["sub"] != "auth0|42" || c["aud"] != "centrifugo" {
		t.Errorf("claims = %v", c)
	}

	for _, tc := range []struct {
		name    string
		params  map[string]string
		wantErr error
	}{
		{"no channel", nil, ErrProfileParam},
		{"empty channel", map[string]string{"channel": ""}, ErrProfileParam},
		{"space in channel", map[string]string{"channel": "chat: x"}, ErrProfileParam},
		{"control byte", map[string]string{"channel": "chat:\x00"}, ErrProfileParam},
		{"too long", map[string]string{"channel": "chat:" + string(make([]byte, 300))}, ErrProfileParam},
		{"not granted", map[string]string{"channel": "private-admin"}, ErrChannelNotGranted},
		{"other user", map[string]string{"channel": "private-user-eve"}, ErrChannelNotGranted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := i.Mint(CentrifugoSubProfile, Request{Identity: pfAda, Grants: pfGrants, Params: tc.params})
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestCentrifugoKeyChoice(t *testing.T) {
	for _, tc := range []struct {
		name    string
		algs    []string
		ask     string
		wantAlg string
		wantErr bool
	}{
		{"active ES256", []string{keys.ES256, keys.EdDSA}, "", "ES256", false},
		{"EdDSA active falls back to ES256", []string{keys.EdDSA, keys.ES256}, "", "ES256", false},
		{"asked ES512", []string{keys.ES256, keys.ES512}, "ES512", "ES512", false},
		{"asked EdDSA refused", []string{keys.ES256, keys.EdDSA}, "EdDSA", "", true},
		{"only EdDSA", []string{keys.EdDSA}, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := testIssuer(t, tc.algs...)
			tok, err := i.Mint(CentrifugoProfile, Request{Identity: pfAda, Alg: tc.ask})
			if tc.wantErr {
				if !errors.Is(err, ErrUnsupportedAlg) {
					t.Fatalf("err = %v, want ErrUnsupportedAlg", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			hdr, _, _ := decodeJWT(t, tok.Value)
			if hdr["alg"] != tc.wantAlg {
				t.Errorf("alg = %v, want %s", hdr["alg"], tc.wantAlg)
			}
		})
	}
}

// TestAblyToken checks the Ably JWT against ably.com/docs/auth/token/jwt.
func TestAblyToken(t *testing.T) {
	i := testIssuer(t)
	tok, err := i.Mint(AblyProfile, Request{Identity: pfAda, Grants: pfGrants, TTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	hdr, c, pretty := decodeJWT(t, tok.Value)
	checkGolden(t, "ably.golden", pretty)
	if hdr["alg"] != "HS256" || hdr["kid"] != "appId.keyId" || hdr["typ"] != "JWT" {
		t.Errorf("header = %v", hdr)
	}
	if want := []string{"exp", "iat", "x-ably-capability", "x-ably-clientId"}; !slices.Equal(claimNames(c), want) {
		t.Errorf("claims = %v, want exactly %v", claimNames(c), want)
	}
	if _, ok := c["x-ably-capability"].(string); !ok {
		t.Errorf("x-ably-capability is %T, want a JSON string", c["x-ably-capability"])
	}
	if c["exp"].(float64)-c["iat"].(float64) != 600 {
		t.Errorf("lifetime = %v", c["exp"].(float64)-c["iat"].(float64))
	}
	// Signed with the Ably key secret, as Ably checks it.
	_, err = jwt.Parse(tok.Value, func(*jwt.Token) (any, error) { return []byte(testAblySecret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return pfNow }))
	if err != nil {
		t.Errorf("HS256 signature with the Ably secret: %v", err)
	}
	if _, err := i.Mint(AblyProfile, Request{Identity: pfAda, Alg: "ES256"}); !errors.Is(err, ErrUnsupportedAlg) {
		t.Errorf("ably with ES256: err = %v", err)
	}
	if _, err := i.Verify(tok.Value); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify(ably token) = %v, want ErrInvalidToken", err)
	}
}

func TestAblyCapability(t *testing.T) {
	for _, tc := range []struct {
		name string
		g    policy.Grants
		want string
	}{
		{"nothing", policy.Grants{}, `{}`},
		{"subscribe literal", policy.Grants{Subscribe: []string{"news"}}, `{"news":["subscribe"]}`},
		{"publish and subscribe", policy.Grants{Subscribe: []string{"chat"}, Publish: []string{"chat"}}, `{"chat":["publish","subscribe"]}`},
		{"publish only", policy.Grants{Publish: []string{"out"}}, `{"out":["publish"]}`},
		{"presence channel", policy.Grants{Subscribe: []string{"presence-lobby"}}, `{"presence-lobby":["presence","subscribe"]}`},
		{"everything", policy.Grants{Subscribe: []string{"*"}, Publish: []string{"*"}}, `{"*":["presence","publish","subscribe"]}`},
		{"namespace", policy.Grants{Subscribe: []string{"chat:*"}}, `{"chat:*":["subscribe"]}`},
		{"inexpressible glob dropped", policy.Grants{Subscribe: []string{"public-*", "a*b:*", "x:*y"}}, `{}`},
		{"duplicates merged", policy.Grants{Subscribe: []string{"a", "a"}, Publish: []string{"a", "a"}}, `{"a":["publish","subscribe"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AblyCapability(tc.g); got != tc.want {
				t.Errorf("AblyCapability = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAblyConfigRefused(t *testing.T) {
	i := testIssuer(t)
	for _, cfg := range []AblyConfig{
		{KeyName: "nodot", KeySecret: testAblySecret},
		{KeyName: "app.key", KeySecret: "short"},
	} {
		if err := i.RegisterProfiles(ProfilesConfig{Ably: &cfg}); err == nil {
			t.Errorf("RegisterProfiles(%+v) = nil, want an error", cfg)
		}
	}
}

func equalJSON(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		return maps.EqualFunc(am, bm, equalJSON)
	}
	return a == b
}

// Token.Alg is the alg header the token was signed with, for every profile
// (the ably profile signs HS256 whatever the active key is).
func TestTokenCarriesItsAlg(t *testing.T) {
	i := testIssuer(t, keys.ES256, keys.EdDSA)
	for _, tc := range []struct {
		profile, alg, want string
		params             map[string]string
	}{
		{DefaultProfile, "", keys.ES256, nil},
		{DefaultProfile, keys.EdDSA, keys.EdDSA, nil},
		{CentrifugoProfile, "", keys.ES256, nil},
		{CentrifugoSubProfile, "", keys.ES256, map[string]string{"channel": "chat:x"}},
		{AblyProfile, "", keys.HS256, nil},
	} {
		tok, err := i.Mint(tc.profile, Request{Identity: pfAda, Grants: pfGrants, Alg: tc.alg, Params: tc.params})
		if err != nil {
			t.Fatalf("%s %s: %v", tc.profile, tc.alg, err)
		}
		seg, _, _ := strings.Cut(tok.Value, ".")
		b, _ := base64.RawURLEncoding.DecodeString(seg)
		var hdr struct{ Alg string }
		if err := json.Unmarshal(b, &hdr); err != nil {
			t.Fatal(err)
		}
		if tok.Alg != tc.want || hdr.Alg != tc.want {
			t.Errorf("%s asked %q: Token.Alg %q, header %q, want %q", tc.profile, tc.alg, tok.Alg, hdr.Alg, tc.want)
		}
	}
}
