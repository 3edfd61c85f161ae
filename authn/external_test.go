package authn_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/authn"
	"gatehouse/authn/authntest"
	"gatehouse/authn/trust"
	"gatehouse/policy"
)

var hsSecret = []byte(strings.Repeat("k", 40))

// external builds an HS256 trusted issuer "idp" (iss https://idp.test/)
// with grant mode mode.
func external(t *testing.T, r *authntest.Rig, name string, mode authn.GrantMode) *authn.External {
	t.Helper()
	v, err := trust.New(trust.Config{Name: name, Issuers: []string{"https://" + name + ".test/"}, Secret: hsSecret, Algorithms: []string{"HS256"}},
		trust.Options{Now: func() time.Time { return r.Now }})
	if err != nil {
		t.Fatal(err)
	}
	return &authn.External{Verifier: v, Grants: mode}
}

func externalToken(t *testing.T, r *authntest.Rig, iss string, perms, roles []string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": iss, "sub": "ext-1", "exp": r.Now.Add(time.Minute).Unix(),
		"permissions": perms, "roles": roles,
	}).SignedString(hsSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExternalGrantModes(t *testing.T) {
	r := authntest.New(t, authntest.Config{Policy: policy.Config{
		Rules: []policy.Rule{{When: policy.Condition{Role: []string{"reader"}}, Subscribe: []string{"news-*"}}},
	}})
	perms := []string{"realtime:subscriber:read:topic:news-eu", "realtime:subscriber:read:topic:admin", "bogus"}
	tok := externalToken(t, r, "https://idp.test/", perms, []string{"reader"})
	for _, tc := range []struct {
		mode authn.GrantMode
		want []string
	}{
		{authn.GrantsToken, []string{"news-eu", "admin"}},
		{authn.GrantsPolicy, []string{"news-*"}},
		{"", []string{"news-eu"}}, // both, the default: the token's, as far as the policy grants
	} {
		res := r.Resolver.For(authn.FrontPusher)
		res.Configure(map[string][]*authn.External{authn.FrontPusher: {external(t, r, "idp", tc.mode)}}, nil)
		c, err := res.Token(tok)
		if err != nil {
			t.Fatalf("%s: %v", tc.mode, err)
		}
		if !slices.Equal(c.Grants.Subscribe, tc.want) || c.Source != authn.SourceExternal || c.Identity.Subject != "ext-1" || c.Identity.Provider != "idp" {
			t.Errorf("%q: %+v, want subscribe %v", tc.mode, c, tc.want)
		}
	}
}

// Trusted issuers apply only on the fronts they are enabled on, and a token
// naming our issuer is only ever checked as ours.
func TestExternalOnlyWhereEnabled(t *testing.T) {
	r := authntest.New(t, authntest.Config{})
	r.Resolver.Configure(map[string][]*authn.External{authn.FrontPusher: {external(t, r, "idp", authn.GrantsToken)}}, nil)
	tok := externalToken(t, r, "https://idp.test/", []string{"realtime:subscriber:read:topic:x"}, nil)
	if _, err := r.Resolver.For(authn.FrontPusher).Token(tok); err != nil {
		t.Fatalf("enabled front: %v", err)
	}
	if _, err := r.Resolver.For(authn.FrontDeepstream).Token(tok); !errors.Is(err, authn.ErrBadCredential) {
		t.Fatalf("front not enabled: %v", err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if c, err := r.Resolver.For(authn.FrontPusher).Request(req, false); err != nil || c.Source != authn.SourceExternal {
		t.Fatalf("Request with an external bearer: %+v %v", c, err)
	}
	// An HS token signed with the trusted secret but claiming our iss.
	forged := externalToken(t, r, r.Issuer.Issuer(), []string{"realtime:subscriber:read:topic:*"}, nil)
	if _, err := r.Resolver.For(authn.FrontPusher).Token(forged); !errors.Is(err, authn.ErrBadCredential) {
		t.Fatalf("a token claiming our iss must be verified as ours: %v", err)
	}
}

func TestAppToken(t *testing.T) {
	r := authntest.New(t, authntest.Config{})
	ctx := context.Background()
	own := r.Mint(t, policy.Identity{Subject: "svc"}, 0)
	auth := external(t, r, "auth", authn.GrantsToken)
	admin := external(t, r, "admin", authn.GrantsToken)
	r.Resolver.Configure(nil, map[string]authn.AppKeys{
		"a": {Auth: auth, Admin: admin},
		"b": {Auth: auth, NoOwnTokens: true},
	})
	authTok := externalToken(t, r, "https://auth.test/", nil, nil)
	adminTok := externalToken(t, r, "https://admin.test/", nil, nil)
	for _, tc := range []struct {
		app   string
		use   authn.KeyUse
		token string
		ok    bool
	}{
		{"a", authn.AuthKey, own, true},
		{"a", authn.AuthKey, authTok, true},
		{"a", authn.AuthKey, adminTok, false}, // the admin key does not open sockets
		{"a", authn.AdminKey, adminTok, true},
		{"a", authn.AdminKey, authTok, false},
		{"b", authn.AuthKey, own, false}, // gatehouse_tokens: false
		{"b", authn.AuthKey, authTok, true},
		{"b", authn.AdminKey, own, false},
		{"c", authn.AuthKey, own, true}, // no keys: our tokens only
		{"c", authn.AuthKey, authTok, false},
	} {
		_, err := r.Resolver.AppToken(ctx, tc.app, tc.use, tc.token)
		if (err == nil) != tc.ok {
			t.Errorf("app %s use %d: err %v, want ok=%v", tc.app, tc.use, err, tc.ok)
		}
	}
}
