package handlers

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"gatehouse/authn"
	"gatehouse/issuer"
	"gatehouse/policy"
)

// testSessions is a authn.SessionReader over a fixed table of cookie values:
// "gatehouse=<value>" → identity; "gatehouse=bad" is a broken cookie.
type testSessions map[string]policy.Identity

var _ authn.SessionReader = testSessions(nil)

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
	frontsAda   = policy.Identity{Subject: "auth0|42", Name: "Ada", Roles: []string{"member"}, Groups: []string{"eng"}, Provider: "auth0", SessionID: "sid-ada"}
	frontsAdmin = policy.Identity{Subject: "root", Name: "Root", Roles: []string{"admin"}, SessionID: "sid-root"}
	// frontsTen is the SPEC §10 presence vector's user.
	frontsTen    = policy.Identity{Subject: "10", Name: "Mr. Channels", SessionID: "sid-10"}
	frontsSigner = policy.Identity{Subject: "12345", SessionID: "sid-12345"}
)

var frontsPolicy = policy.Config{
	Anonymous: policy.Rule{Subscribe: []string{"public-*", "presence-lobby"}},
	Rules: []policy.Rule{
		{When: policy.Condition{Authenticated: boolPtr(true)},
			Subscribe: []string{"public-*", "private-chat", "presence-lobby", "presence-foobar", "private-foobar",
				"private-encrypted-foo", "private-user-{sub}"},
			Publish: []string{"private-chat"}},
		{When: policy.Condition{Role: []string{"admin"}}, Subscribe: []string{"*"}, Publish: []string{"*"}},
	},
}

func boolPtr(b bool) *bool { return &b }

// SPEC §10's app.
const (
	vectorKey    = "278d425bdf160c739803"
	vectorSecret = "7ad3773142a6692b25b8"
)

func vectorMasterKey() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

// frontsRig is the router with the broker fronts mounted.
type frontsRig struct {
	*foundation
	res     *authn.Resolver
	pusher  *PusherAuth
	metrics *Metrics
	revoked map[string]bool
	mu      sync.Mutex
}

type rigOpts struct {
	anonymous  bool
	deepstream bool
	apps       []PusherApp
	noSessions bool
}

func newFrontsRig(t testing.TB, o rigOpts) *frontsRig {
	t.Helper()
	r := &frontsRig{revoked: map[string]bool{}}
	f := newFoundation(t, defaultAnon)
	f.issuer.SetCache(issuer.NewCache(0, f.issuer.Now))
	f.issuer.SetRevocationCheck(func(sid string) bool { r.mu.Lock(); defer r.mu.Unlock(); return r.revoked[sid] })
	if err := f.issuer.RegisterProfiles(issuer.ProfilesConfig{}); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.New(frontsPolicy)
	if err != nil {
		t.Fatal(err)
	}
	var sessions authn.SessionReader = testSessions{"ada": frontsAda, "root": frontsAdmin, "ten": frontsTen, "signer": frontsSigner}
	if o.noSessions {
		sessions = nil
	}
	r.res, err = authn.NewResolver(f.issuer, pol, sessions, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	r.metrics = NewMetrics()
	ds, err := NewDeepstream(DeepstreamConfig{Enabled: o.deepstream, Anonymous: o.anonymous}, r.res, r.metrics, discard)
	if err != nil {
		t.Fatal(err)
	}
	apps := o.apps
	if apps == nil {
		apps = []PusherApp{{ID: "chat", Key: vectorKey, Secret: vectorSecret, MasterKey: vectorMasterKey()}}
	}
	r.pusher, err = NewPusherAuth(PusherAuthConfig{Apps: apps, Anonymous: o.anonymous}, r.res,
		NewCORS("http://127.0.0.1:8080", "https://app.example.com"), r.metrics, discard)
	if err != nil {
		t.Fatal(err)
	}
	f.handler, err = NewRouter(ServerConfig{}, r.metrics, discard, &Health{Metrics: r.metrics}, ds, r.pusher)
	if err != nil {
		t.Fatal(err)
	}
	r.foundation = f
	return r
}

func (r *frontsRig) revoke(sid string) {
	r.mu.Lock()
	r.revoked[sid] = true
	r.mu.Unlock()
}

// mint returns a default-profile token for id with the policy's grants.
func (r *frontsRig) mint(t testing.TB, id policy.Identity, ttl time.Duration) string {
	t.Helper()
	tok, err := r.issuer.Mint("", issuer.Request{Identity: id, Grants: r.res.Policy().Grants(id), TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Value
}
