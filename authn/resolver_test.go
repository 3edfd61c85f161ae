package authn

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/issuer"
	"gatehouse/keys"
	"gatehouse/policy"
)

// testSessions is a SessionReader over a fixed table of cookie values:
// "gatehouse=<value>" → identity; "gatehouse=bad" is a broken cookie.
type testSessions map[string]policy.Identity

var _ SessionReader = testSessions(nil)

func (s testSessions) Identity(r *http.Request) (policy.Identity, time.Time, bool, error) {
	c, err := r.Cookie("gatehouse")
	if err != nil {
		return policy.Identity{}, time.Time{}, false, nil
	}
	id, ok := s[c.Value]
	if !ok {
		return policy.Identity{}, time.Time{}, true, errors.New("oidc: session cookie invalid")
	}
	return id, time.Unix(1_800_003_600, 0), true, nil
}

var (
	ada   = policy.Identity{Subject: "auth0|42", Name: "Ada", Roles: []string{"member"}, Provider: "auth0", SessionID: "sid-ada"}
	admin = policy.Identity{Subject: "root", Name: "Root", Roles: []string{"admin"}, SessionID: "sid-root"}
)

type rig struct {
	res    *Resolver
	issuer *issuer.Issuer
	now    time.Time
}

func newRig(t *testing.T) *rig {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "issuer", "testdata", "es256.pem"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.ParsePEM("", keys.ES256, data)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.NewSet(k)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{now: time.Unix(1_800_000_000, 0)}
	r.issuer, err = issuer.New(issuer.Config{Issuer: "http://127.0.0.1:8080", Audience: "realtime", Now: func() time.Time { return r.now }}, ks)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.New(policy.Config{
		Anonymous: policy.Rule{Subscribe: []string{"public-*"}},
		Rules:     []policy.Rule{{When: policy.Condition{Role: []string{"admin"}}, Subscribe: []string{"*"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r.res, err = NewResolver(r.issuer, pol, testSessions{"ada": ada, "root": admin}, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) mint(t *testing.T, id policy.Identity, ttl time.Duration) string {
	t.Helper()
	tok, err := r.issuer.Mint("", issuer.Request{Identity: id, Grants: r.res.Policy().Grants(id), TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Value
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		h    []string
		want string
		ok   bool
	}{
		{[]string{"Bearer abc"}, "abc", true},
		{[]string{"bearer abc"}, "abc", true},
		{[]string{"Bearer  abc "}, "abc", true},
		{[]string{"Bearer "}, "", false},
		{[]string{"Basic abc"}, "", false},
		{[]string{"Bearer a b"}, "", false},
		{[]string{"Bearerabc"}, "", false},
		{[]string{"Bearer a", "Bearer b"}, "", false},
	} {
		t.Run(strings.Join(tc.h, "|"), func(t *testing.T) {
			got, ok := BearerToken(tc.h)
			if got != tc.want || ok != tc.ok {
				t.Errorf("BearerToken(%q) = %q, %v", tc.h, got, ok)
			}
		})
	}
}

func TestResolverRequest(t *testing.T) {
	r := newRig(t)
	good := r.mint(t, ada, 0)
	expired := r.mint(t, ada, time.Minute)
	r.now = r.now.Add(2 * time.Minute) // expired is now past exp + 30 s leeway
	for _, tc := range []struct {
		name    string
		hdr     map[string]string
		anon    bool
		source  string
		sub     string
		wantErr error
	}{
		{"bearer", map[string]string{"Authorization": "Bearer " + good}, false, SourceToken, "auth0|42", nil},
		{"cookie", map[string]string{"Cookie": "gatehouse=ada"}, false, SourceSession, "auth0|42", nil},
		{"bearer wins over cookie", map[string]string{"Authorization": "Bearer " + good, "Cookie": "gatehouse=root"}, false, SourceToken, "auth0|42", nil},
		{"nothing, anonymous allowed", nil, true, SourceAnonymous, "anon:", nil},
		{"nothing, anonymous refused", nil, false, "", "", ErrNoCredential},
		{"foreign cookie only", map[string]string{"Cookie": "other=1"}, true, SourceAnonymous, "anon:", nil},
		{"expired token never falls back", map[string]string{"Authorization": "Bearer " + expired}, true, "", "", ErrBadCredential},
		{"garbage token", map[string]string{"Authorization": "Bearer x.y.z"}, true, "", "", ErrBadCredential},
		{"basic auth", map[string]string{"Authorization": "Basic YTpi"}, true, "", "", ErrBadCredential},
		{"bad cookie never falls back", map[string]string{"Cookie": "gatehouse=bad"}, true, "", "", ErrBadCredential},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", nil)
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			c, err := r.res.Request(req, tc.anon)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if c.Source != tc.source || !strings.HasPrefix(c.Identity.Subject, tc.sub) {
				t.Errorf("caller = %+v", c)
			}
		})
	}
}

func TestSessionFromCookie(t *testing.T) {
	r := newRig(t)
	c, ok, err := r.res.SessionFromCookie(t.Context(), "gatehouse=root")
	if err != nil || !ok || c.Identity.Subject != "root" || !c.Grants.CanSubscribe("anything") {
		t.Fatalf("root cookie: %+v %v %v", c, ok, err)
	}
	if _, ok, err := r.res.SessionFromCookie(t.Context(), ""); ok || err != nil {
		t.Fatalf("no cookie: %v %v", ok, err)
	}
	if _, _, err := r.res.SessionFromCookie(t.Context(), "gatehouse=bad"); !errors.Is(err, ErrBadCredential) {
		t.Fatalf("bad cookie: %v", err)
	}
}
