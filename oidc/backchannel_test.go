package oidc

import (
	"context"
	"errors"
	"testing"
	"time"

	"gatehouse/oidc/oidctest"
)

func TestBackchannelLogout(t *testing.T) {
	f := newFixture(t)
	res, err := f.login(t)
	if err != nil {
		t.Fatal(err)
	}
	base := func() map[string]any {
		now := f.clock.Now()
		return map[string]any{
			"iss": f.idp.Issuer, "aud": oidctest.ClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
			"jti": "j1", "sid": "idp-sid-1",
			"events": map[string]any{backchannelEvent: map[string]any{}},
		}
	}
	bad := []struct {
		name string
		edit func(c map[string]any)
	}{
		{"nonce present", func(c map[string]any) { c["nonce"] = "n" }},
		{"wrong event", func(c map[string]any) { c["events"] = map[string]any{"http://example.com/other": map[string]any{}} }},
		{"event not an object", func(c map[string]any) { c["events"] = map[string]any{backchannelEvent: "yes"} }},
		{"no sid nor sub", func(c map[string]any) { delete(c, "sid") }},
		{"wrong aud", func(c map[string]any) { c["aud"] = "other" }},
		{"wrong iss", func(c map[string]any) { c["iss"] = "https://evil.example" }},
		{"no iat", func(c map[string]any) { delete(c, "iat") }},
		{"no jti", func(c map[string]any) { delete(c, "jti") }},
		{"expired", func(c map[string]any) { c["exp"] = f.clock.Now().Add(-time.Minute).Unix() }},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.edit(c)
			if _, err := f.rp.BackchannelLogout(context.Background(), f.idp.Sign(c)); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	t.Run("bad signature", func(t *testing.T) {
		f.idp.Lock(func(p *oidctest.Provider) { p.SignWithOther = true })
		defer f.idp.Lock(func(p *oidctest.Provider) { p.SignWithOther = false })
		if _, err := f.rp.BackchannelLogout(context.Background(), f.idp.Sign(base())); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("good, by sid", func(t *testing.T) {
		revs, err := f.rp.BackchannelLogout(context.Background(), f.idp.Sign(base()))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range revs {
			found = found || r.SessionID == res.Session.ID
		}
		if !found || len(revs) != 2 {
			t.Fatalf("revocations %+v", revs)
		}
	})
	t.Run("good, by sub", func(t *testing.T) {
		r2, err := f.login(t)
		if err != nil {
			t.Fatal(err)
		}
		c := base()
		delete(c, "sid")
		c["sub"] = "alice"
		revs, err := f.rp.BackchannelLogout(context.Background(), f.idp.Sign(c))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range revs {
			found = found || r.SessionID == r2.Session.ID
		}
		if !found {
			t.Fatalf("revocations %+v", revs)
		}
	})
}

func TestVerifySubjectToken(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Providers[0].Audience = "https://api.example.com" })
	ctx := context.Background()
	t.Run("id token", func(t *testing.T) {
		id, end, err := f.rp.VerifySubjectToken(ctx, TokenTypeIDToken, f.idp.Sign(f.idp.IDTokenClaims("")), "")
		// The login it proves is the provider's session: logging that out
		// revokes what the exchange buys.
		if err != nil || id.Subject != "alice" || id.Provider != "test" || id.SessionID != "idp:test:idp-sid-1" || end.IsZero() {
			t.Fatal(id, end, err)
		}
	})
	t.Run("id token for another client", func(t *testing.T) {
		c := f.idp.IDTokenClaims("")
		c["aud"] = "other"
		if _, _, err := f.rp.VerifySubjectToken(ctx, TokenTypeIDToken, f.idp.Sign(c), ""); !errors.Is(err, ErrInvalidToken) {
			t.Fatal(err)
		}
	})
	t.Run("id token of an unknown issuer", func(t *testing.T) {
		c := f.idp.IDTokenClaims("")
		c["iss"] = "https://evil.example"
		if _, _, err := f.rp.VerifySubjectToken(ctx, TokenTypeIDToken, f.idp.Sign(c), ""); !errors.Is(err, ErrInvalidToken) {
			t.Fatal(err)
		}
	})
	t.Run("jwt access token with the audience", func(t *testing.T) {
		c := f.idp.IDTokenClaims("")
		c["aud"] = []any{"https://api.example.com", f.idp.Issuer + "/userinfo"}
		c["azp"] = oidctest.ClientID
		at := f.idp.Sign(c)
		f.idp.AllowAccess(at)
		id, _, err := f.rp.VerifySubjectToken(ctx, TokenTypeAccessToken, at, "")
		if err != nil || id.Subject != "alice" {
			t.Fatal(id, err)
		}
	})
	t.Run("jwt access token for another api", func(t *testing.T) {
		c := f.idp.IDTokenClaims("")
		c["aud"] = "https://other.example.com"
		at := f.idp.Sign(c)
		f.idp.AllowAccess(at)
		if _, _, err := f.rp.VerifySubjectToken(ctx, TokenTypeAccessToken, at, ""); !errors.Is(err, ErrInvalidToken) {
			t.Fatal(err)
		}
	})
	t.Run("opaque access token via userinfo", func(t *testing.T) {
		id, _, err := f.rp.VerifySubjectToken(ctx, TokenTypeAccessToken, f.idp.AccessToken(), "")
		if err != nil || id.Subject != "alice" || id.Name != "Alice" {
			t.Fatal(id, err)
		}
	})
	t.Run("opaque access token unknown to the provider", func(t *testing.T) {
		if _, _, err := f.rp.VerifySubjectToken(ctx, TokenTypeAccessToken, "nope", ""); !errors.Is(err, ErrInvalidToken) {
			t.Fatal(err)
		}
	})
	t.Run("unknown type", func(t *testing.T) {
		if _, _, err := f.rp.VerifySubjectToken(ctx, "urn:x", "t", ""); !errors.Is(err, ErrInvalidToken) {
			t.Fatal(err)
		}
	})
}

func TestClaimsToIdentity(t *testing.T) {
	tests := []struct {
		name          string
		cfg           ProviderConfig
		claims        map[string]any
		roles, groups []string
		email         string
	}{
		{"auth0 namespaced", ProviderConfig{Name: "auth0", RolesClaim: "https://example.com/roles", GroupsClaim: "https://example.com/groups"},
			map[string]any{"sub": "auth0|42", "email": "a@x.io", "email_verified": true,
				"https://example.com/roles": []any{"admin", "member"}, "https://example.com/groups": []any{"g"}},
			[]string{"admin", "member"}, []string{"g"}, "a@x.io"},
		{"keycloak realm roles", ProviderConfig{Name: "kc", RolesClaim: "realm_access.roles"},
			map[string]any{"sub": "u1", "realm_access": map[string]any{"roles": []any{"offline_access", "admin"}},
				"groups": []any{"/org/team", "/org/other"}},
			[]string{"offline_access", "admin"}, []string{"/org/team", "/org/other"}, ""},
		{"keycloak client roles, dotted client id", ProviderConfig{Name: "kc", RolesClaim: "resource_access.my.client.roles"},
			map[string]any{"sub": "u1", "resource_access": map[string]any{"my.client": map[string]any{"roles": []any{"editor"}}}},
			[]string{"editor"}, []string{}, ""},
		{"single string role, unverified email dropped", ProviderConfig{Name: "p"},
			map[string]any{"sub": "u", "roles": "solo", "email": "x@y.z", "email_verified": false},
			[]string{"solo"}, []string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := identityFromClaims(tt.cfg, tt.claims, []string{"realm_access.roles", "absent"})
			if err != nil {
				t.Fatal(err)
			}
			if !equal(id.Roles, tt.roles) || !equal(id.Groups, tt.groups) || id.Email != tt.email {
				t.Fatalf("identity %+v", id)
			}
			if _, kept := id.Claims["absent"]; kept {
				t.Fatal("kept an absent claim")
			}
			if len(id.Claims) > 1 {
				t.Fatalf("kept claims nobody asked for: %v", id.Claims)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// V3: an ID token whose login was logged out, or older than the session it
// created, buys nothing; what it buys never outlives it.
func TestExchangedIDTokenEnds(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Session.MaxAge = time.Hour })
	ctx := context.Background()
	claims := f.idp.IDTokenClaims("")
	tok := f.idp.Sign(claims)
	_, end, err := f.rp.VerifySubjectToken(ctx, TokenTypeIDToken, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	if exp := time.Unix(toInt64(claims["exp"]), 0); !end.Equal(exp) && end.After(exp) {
		t.Fatalf("end %v after the token's exp %v", end, exp)
	}
	// An ID token valid for a day still ends with the session it created.
	long := f.idp.IDTokenClaims("")
	long["exp"] = f.clock.Now().Add(24 * time.Hour).Unix()
	_, end, err = f.rp.VerifySubjectToken(ctx, TokenTypeIDToken, f.idp.Sign(long), "")
	if err != nil || end.After(f.clock.Now().Add(time.Hour+time.Second)) {
		t.Fatalf("end %v beyond iat + max_age: %v", end, err)
	}
	f.clock.Add(time.Hour + time.Minute)
	if _, _, err := f.rp.VerifySubjectToken(ctx, TokenTypeIDToken, f.idp.Sign(long), ""); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("an ID token older than its session: %v", err)
	}

	// Logged out: the provider session, or the ID token itself.
	fresh := f.idp.IDTokenClaims("")
	f.revoked[idpSessionKey("test", "idp-sid-1")] = true
	if _, _, err := f.rp.VerifySubjectToken(ctx, TokenTypeIDToken, f.idp.Sign(fresh), ""); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("ID token of a logged-out provider session: %v", err)
	}
	delete(fresh, "sid")
	raw := f.idp.Sign(fresh)
	if _, _, err := f.rp.VerifySubjectToken(ctx, TokenTypeIDToken, raw, ""); err != nil {
		t.Fatalf("ID token without sid: %v", err)
	}
	f.revoked[idTokenKey(raw)] = true
	if _, _, err := f.rp.VerifySubjectToken(ctx, TokenTypeIDToken, raw, ""); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("ID token whose session was logged out: %v", err)
	}
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case int:
		return int64(n)
	}
	return 0
}
