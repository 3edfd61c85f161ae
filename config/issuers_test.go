package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

func testPEM(t *testing.T) string {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// The 21no.de app shape maps onto apps[].auth_key/admin_key verbatim.
func TestIssuersAndAppKeys(t *testing.T) {
	pub := strings.ReplaceAll(testPEM(t), "\n", "\n        ")
	doc := `
issuers:
  - name: auth0-api
    issuer: https://tenant.eu.auth0.com/
    algorithms: [RS256]
    audience: https://api.example.com
    fronts: [topics, pusher]
apps:
  - id: chat
    key: chatkey
    secret: 0123456789abcdef0123
    grants: token
    auth_key:
      source: raw
      key: |
        ` + pub + `
      algorithms: [ES256]
      issuer: []
    admin_key: {source: raw, key: "` + strings.Repeat("x", 32) + `", algorithms: [HS256], audience: www.example.org, issuer: []}
  - id: other
    key: otherkey
    secret: 0123456789abcdef0123
    auth_key: {issuer: auth0-api}
`
	c, err := Parse([]byte(doc), Dev, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Apps[0].AuthKey.TrustConfig("x"); len(got.PublicKeyPEM) == 0 || got.Algorithms[0] != "ES256" {
		t.Fatalf("auth_key: %+v", got)
	}
	if got := c.Apps[0].AdminKey.TrustConfig("x"); len(got.Secret) != 32 || got.Audience[0] != "www.example.org" {
		t.Fatalf("admin_key: %+v", got)
	}
	tc, err := c.Issuers[0].TrustConfig()
	if err != nil || !tc.Discovery {
		t.Fatalf("an issuer with no key source is discovered: %+v %v", tc, err)
	}
	w := strings.Join(c.Warnings(), "\n")
	if !strings.Contains(w, "apps[0].auth_key: no issuer list") || !strings.Contains(w, "apps[0].admin_key: no issuer list") {
		t.Fatalf("warnings: %s", w)
	}
}

func TestIssuerRefusalsNameTheKey(t *testing.T) {
	wantRefused(t, []refusal{
		{"issuers: [{name: a, secret: short, algorithms: [HS256]}]", "issuers[0] (line 1): secret: 5 bytes is too short"},
		{"issuers: [{name: a, key: {pem: x}, algorithms: [RS256]}]", "issuers[0] (line 1): key: no PEM block"},
		{"issuers: [{name: a, secret: " + strings.Repeat("s", 32) + ", algorithms: [RS256]}]", "needs a public key, not a secret"},
		{"issuers: [{name: a, jwks_url: https://x/j, algorithms: [none]}]", "is never accepted"},
		{"issuers: [{name: a, jwks_url: https://x/j, algorithms: [RS256], fronts: [mqtt]}]", "issuers[0].fronts[0] (line 1): unknown front"},
		{"issuers: [{name: a, jwks_url: https://x/j, algorithms: [RS256], grants: all}]", "issuers[0].grants (line 1)"},
		{"apps: [{id: a, key: k, secret: 0123456789abcdef0, auth_key: {issuer: nope}}]", "apps[0].auth_key.issuer (line 1): must name one of issuers[].name"},
		{"apps: [{id: a, key: k, secret: 0123456789abcdef0, auth_key: {source: raw, key: abc, algorithms: [HS256]}}]", "apps[0].auth_key (line 1): secret: 3 bytes is too short"},
		{"apps: [{id: a, key: k, secret: 0123456789abcdef0, gatehouse_tokens: false}]", "apps[0].gatehouse_tokens (line 1)"},
	})
}
