package authn_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gatehouse/authn"
	"gatehouse/authn/authntest"
	"gatehouse/policy"
)

var (
	ada   = policy.Identity{Subject: "auth0|42", Name: "Ada", Roles: []string{"member"}, Provider: "auth0", SessionID: "sid-ada"}
	admin = policy.Identity{Subject: "root", Name: "Root", Roles: []string{"admin"}, SessionID: "sid-root"}
)

func newRig(t *testing.T) *authntest.Rig {
	t.Helper()
	return authntest.New(t, authntest.Config{
		Policy: policy.Config{
			Anonymous: policy.Rule{Subscribe: []string{"public-*"}},
			Rules:     []policy.Rule{{When: policy.Condition{Role: []string{"admin"}}, Subscribe: []string{"*"}}},
		},
		Sessions: authntest.Sessions{"ada": ada, "root": admin},
	})
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
			got, ok := authn.BearerToken(tc.h)
			if got != tc.want || ok != tc.ok {
				t.Errorf("authn.BearerToken(%q) = %q, %v", tc.h, got, ok)
			}
		})
	}
}

func TestResolverRequest(t *testing.T) {
	r := newRig(t)
	good := r.Mint(t, ada, 0)
	expired := r.Mint(t, ada, time.Minute)
	r.Now = r.Now.Add(2 * time.Minute) // expired is now past exp + 30 s leeway
	for _, tc := range []struct {
		name    string
		hdr     map[string]string
		anon    bool
		source  string
		sub     string
		wantErr error
	}{
		{"bearer", map[string]string{"Authorization": "Bearer " + good}, false, authn.SourceToken, "auth0|42", nil},
		{"cookie", map[string]string{"Cookie": "gatehouse=ada"}, false, authn.SourceSession, "auth0|42", nil},
		{"bearer wins over cookie", map[string]string{"Authorization": "Bearer " + good, "Cookie": "gatehouse=root"}, false, authn.SourceToken, "auth0|42", nil},
		{"nothing, anonymous allowed", nil, true, authn.SourceAnonymous, "anon:", nil},
		{"nothing, anonymous refused", nil, false, "", "", authn.ErrNoCredential},
		{"foreign cookie only", map[string]string{"Cookie": "other=1"}, true, authn.SourceAnonymous, "anon:", nil},
		{"expired token never falls back", map[string]string{"Authorization": "Bearer " + expired}, true, "", "", authn.ErrBadCredential},
		{"garbage token", map[string]string{"Authorization": "Bearer x.y.z"}, true, "", "", authn.ErrBadCredential},
		{"basic auth", map[string]string{"Authorization": "Basic YTpi"}, true, "", "", authn.ErrBadCredential},
		{"bad cookie never falls back", map[string]string{"Cookie": "gatehouse=bad"}, true, "", "", authn.ErrBadCredential},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", nil)
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			c, err := r.Resolver.Request(req, tc.anon)
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
	c, ok, err := r.Resolver.SessionFromCookie(t.Context(), "gatehouse=root")
	if err != nil || !ok || c.Identity.Subject != "root" || !c.Grants.CanSubscribe("anything") {
		t.Fatalf("root cookie: %+v %v %v", c, ok, err)
	}
	if _, ok, err := r.Resolver.SessionFromCookie(t.Context(), ""); ok || err != nil {
		t.Fatalf("no cookie: %v %v", ok, err)
	}
	if _, _, err := r.Resolver.SessionFromCookie(t.Context(), "gatehouse=bad"); !errors.Is(err, authn.ErrBadCredential) {
		t.Fatalf("bad cookie: %v", err)
	}
}
