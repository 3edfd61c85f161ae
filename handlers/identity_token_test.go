package handlers

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"gatehouse/fronts/frontstest"
	"gatehouse/issuer"
	"gatehouse/policy"
)

func TestWantsBareJWT(t *testing.T) {
	for _, tc := range []struct {
		accept, profile string
		want            bool
	}{
		{"application/jwt", "", true},
		{"application/json, application/jwt;q=0.5", "centrifugo", true},
		{"application/jwt;q=0", "", false},
		{"application/json, text/plain", "ably", true}, // ably-js authUrl
		{"application/json, text/plain", "", false},
		{"application/json", "ably", false},
		{"", "ably", false},
		{"*/*", "ably", false},
	} {
		t.Run(tc.accept+"|"+tc.profile, func(t *testing.T) {
			if got := wantsBareJWT(tc.accept, tc.profile); got != tc.want {
				t.Errorf("wantsBareJWT = %v", got)
			}
		})
	}
}

// profileRig is the foundation with the extra profiles registered, the
// anonymous policy granting public-* (newFoundation's policy).
func profileRig(t *testing.T) *foundation {
	f := newFoundation(t, defaultAnon)
	if err := f.issuer.RegisterProfiles(issuer.ProfilesConfig{
		Ably: &issuer.AblyConfig{KeyName: "appId.keyId", KeySecret: "EVKVTCBlzLBPYJiCZTsIW_pqylJ9WVRB5K9P19Ap1y0"},
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAnonymousProfiles(t *testing.T) {
	f := profileRig(t)
	for _, tc := range []struct {
		name, path, body string
		hdr              []string
		status           int
		contentType      string
		check            func(t *testing.T, claims map[string]any)
	}{
		{"centrifugo", "/token/anonymous?profile=centrifugo", "", nil, 200, "application/json",
			func(t *testing.T, c map[string]any) {
				if c["aud"] != "centrifugo" || !strings.HasPrefix(c["sub"].(string), "anon:") {
					t.Errorf("claims %v", c)
				}
			}},
		{"centrifugo-sub granted", "/token/anonymous?profile=centrifugo-sub&channel=public-news", "", nil, 200, "application/json",
			func(t *testing.T, c map[string]any) {
				if c["channel"] != "public-news" {
					t.Errorf("claims %v", c)
				}
			}},
		{"centrifugo-sub in JSON body", "/token/anonymous?channel=public-news", `{"profile":"centrifugo-sub"}`, nil, 200, "application/json", nil},
		{"ably for ably-js", "/token/anonymous?profile=ably", "", []string{"Accept", "application/json, text/plain"}, 200, "application/jwt",
			func(t *testing.T, c map[string]any) {
				if c["x-ably-capability"] != `{}` || !strings.HasPrefix(c["x-ably-clientId"].(string), "anon:") {
					t.Errorf("claims %v", c) // public-* has no Ably equivalent
				}
			}},
		{"ably form post", "/token/anonymous?profile=ably", "ttl=3600000&capability=x", []string{"Accept", "application/json, text/plain", "Content-Type", "application/x-www-form-urlencoded"}, 200, "application/jwt", nil},
		{"ably profile in form", "/token/anonymous", "profile=ably", []string{"Accept", "application/jwt", "Content-Type", "application/x-www-form-urlencoded"}, 200, "application/jwt", nil},
		{"ably JSON when asked", "/token/anonymous?profile=ably", "", []string{"Accept", "application/json"}, 200, "application/json", nil},
		{"centrifugo-sub without channel", "/token/anonymous?profile=centrifugo-sub", "", nil, 400, "application/json", nil},
		{"centrifugo-sub not granted", "/token/anonymous?profile=centrifugo-sub&channel=private-x", "", nil, 403, "application/json", nil},
		{"centrifugo with EdDSA", "/token/anonymous?profile=centrifugo", `{"alg":"EdDSA"}`, nil, 400, "application/json", nil},
		{"unknown profile", "/token/anonymous?profile=nope", "", nil, 400, "application/json", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.do("POST", tc.path, tc.body, tc.hdr...)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("content type %q, want %q", ct, tc.contentType)
			}
			if tc.status != 200 {
				decodeError(t, rec)
				return
			}
			tok := rec.Body.String()
			if tc.contentType == "application/json" {
				var r tokenResponse
				if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.AccessToken == "" {
					t.Fatalf("body %s", rec.Body)
				}
				tok = r.AccessToken
			}
			if tc.check != nil {
				tc.check(t, claimsOf(t, tok))
			}
		})
	}
}

// TestAblyCapabilityFromPolicy checks the capability an authenticated
// identity gets from a namespaced policy.
func TestAblyCapabilityFromPolicy(t *testing.T) {
	pol, err := policy.New(policy.Config{Rules: []policy.Rule{
		{When: policy.Condition{Authenticated: boolPtr(true)}, Subscribe: []string{"chat:*", "presence-lobby", "user:{sub}"}, Publish: []string{"chat:*"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := issuer.AblyCapability(pol.Grants(frontstest.Ada))
	want := `{"chat:*":["publish","subscribe"],"presence-lobby":["presence","subscribe"],"user:auth0=7C42":["subscribe"]}`
	if got != want {
		t.Errorf("capability %s, want %s", got, want)
	}
}

// The metrics count each token under the algorithm it was signed with: an
// anonymous ably token is HS256 (the Ably key), not the anonymous default.
func TestMintedTokensCountedByTheirAlg(t *testing.T) {
	f := profileRig(t)
	for _, path := range []string{"/token/anonymous?profile=ably", "/token/anonymous", "/token/anonymous?profile=centrifugo"} {
		if rec := f.do("POST", path, ""); rec.Code != 200 {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
	m := f.do("GET", "/metrics", "").Body.String()
	for _, want := range []string{
		`gatehouse_tokens_minted_total{alg="HS256",kind="anonymous"} 1`,
		`gatehouse_tokens_minted_total{alg="ES256",kind="anonymous"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
