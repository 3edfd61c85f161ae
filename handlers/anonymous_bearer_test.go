package handlers

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/issuer"
)

// mintAnon asks /token/anonymous (with hdr) and returns the token.
func (f *foundation) mintAnon(t *testing.T, path string, hdr ...string) string {
	t.Helper()
	rec := f.do("POST", path, "", hdr...)
	if rec.Code != 200 {
		t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out.AccessToken
}

// unverifiedSub reads a token's sub without verifying it (profile tokens
// are not for our own verifier).
func unverifiedSub(t *testing.T, tok string) string {
	t.Helper()
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatal(err)
	}
	return c.Subject
}

// One visitor, one identity: a token request that presents our anonymous
// token keeps its subject for every profile (a Centrifugo connection token
// and its subscription tokens must name the same user), and only requests
// without one spend the per-address budget.
func TestAnonymousBearerKeepsTheSubject(t *testing.T) {
	f := newFoundationRate(t, defaultAnon, 1)
	if err := f.issuer.RegisterProfiles(issuer.ProfilesConfig{}); err != nil {
		t.Fatal(err)
	}
	first := f.mintAnon(t, "/token/anonymous")
	c, err := f.issuer.Verify(first)
	if err != nil {
		t.Fatal(err)
	}
	bearer := []string{"Authorization", "Bearer " + first}
	for _, path := range []string{
		"/token/anonymous",
		"/token/anonymous?profile=centrifugo",
		"/token/anonymous?profile=centrifugo-sub&channel=public-room",
	} {
		tok := f.mintAnon(t, path, bearer...)
		if got := unverifiedSub(t, tok); got != c.Subject {
			t.Errorf("%s: sub %q, want the presented token's %q", path, got, c.Subject)
		}
	}
	// A channel the anonymous grants do not cover stays refused.
	if rec := f.do("POST", "/token/anonymous?profile=centrifugo-sub&channel=admin", "", bearer...); rec.Code != 403 {
		t.Errorf("ungranted channel: %d %s", rec.Code, rec.Body)
	}
	// The budget (1 per minute) was spent by the first request only.
	if rec := f.do("POST", "/token/anonymous", ""); rec.Code != 429 {
		t.Errorf("a second new identity: %d, want 429", rec.Code)
	}
}

// A presented token that is not a valid one of ours is refused: never
// silently replaced by a fresh identity.
func TestAnonymousBearerRefusals(t *testing.T) {
	f := newFoundation(t, defaultAnon)
	good := f.mintAnon(t, "/token/anonymous")
	tampered := good[:len(good)-4] + strings.Repeat("A", 4)
	if tampered == good {
		tampered = good[:len(good)-4] + "BBBB"
	}
	for name, hdr := range map[string][]string{
		"tampered":  {"Authorization", "Bearer " + tampered},
		"garbage":   {"Authorization", "Bearer not.a.token"},
		"basic":     {"Authorization", "Basic dXNlcjpwYXNz"},
		"empty":     {"Authorization", ""},
		"two words": {"Authorization", "Bearer a b"},
	} {
		rec := f.do("POST", "/token/anonymous", "", hdr...)
		if rec.Code != 401 || decodeError(t, rec).Error != "invalid_token" {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	// Expired.
	*f.now = f.now.Add(time.Hour)
	rec := f.do("POST", "/token/anonymous", "", "Authorization", "Bearer "+good)
	if rec.Code != 401 {
		t.Errorf("expired: %d %s", rec.Code, rec.Body)
	}
}

// The lifetime of a token bought with an anonymous token never passes the
// first token's end, however often it is renewed.
func TestAnonymousBearerNeverOutlivesTheFirst(t *testing.T) {
	f := newFoundation(t, defaultAnon)
	tok := f.mintAnon(t, "/token/anonymous")
	first, err := f.issuer.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	ended := false
	for range 4 {
		*f.now = f.now.Add(2 * time.Minute)
		rec := f.do("POST", "/token/anonymous", "", "Authorization", "Bearer "+tok)
		if rec.Code == 401 {
			ended = true
			break
		}
		var out struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		tok = out.AccessToken
		c, err := f.issuer.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		if c.ExpiresAt.After(first.ExpiresAt.Time) {
			t.Fatalf("renewed token expires %v, after the first's %v", c.ExpiresAt, first.ExpiresAt)
		}
	}
	if !ended {
		t.Fatal("renewing with anonymous tokens never ended")
	}
}
