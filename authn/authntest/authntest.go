// Package authntest is the test rig every front's tests share: an issuer on
// a committed key with a clock the test moves, a policy, a revocation list,
// a table of session cookies and the authn.Resolver over them.
package authntest

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"gatehouse/authn"
	"gatehouse/issuer"
	"gatehouse/keys"
	"gatehouse/policy"
	"gatehouse/revocation"
)

// Sessions is an authn.SessionReader over a fixed table of cookie values:
// "gatehouse=<value>" is the identity under that value; any other value of
// the gatehouse cookie is a broken cookie. Every session ends at SessionEnd.
type Sessions map[string]policy.Identity

var _ authn.SessionReader = Sessions(nil)

// SessionEnd is when every session of Sessions ends.
var SessionEnd = time.Unix(1_800_003_600, 0)

// Identity implements authn.SessionReader.
func (s Sessions) Identity(r *http.Request) (policy.Identity, time.Time, bool, error) {
	c, err := r.Cookie("gatehouse")
	if err != nil {
		return policy.Identity{}, time.Time{}, false, nil
	}
	id, ok := s[c.Value]
	if !ok {
		return policy.Identity{}, time.Time{}, true, errors.New("oidc: session cookie invalid")
	}
	return id, SessionEnd, true, nil
}

// Start is the rig's clock reading when it is made.
var Start = time.Unix(1_800_000_000, 0)

// Rig is an issuer, a policy, a revocation list and a resolver over them.
type Rig struct {
	Issuer      *issuer.Issuer
	Policy      *policy.Engine
	Revocations *revocation.Memory
	Resolver    *authn.Resolver
	// Now is the clock every part reads; tests move it.
	Now time.Time
}

// Config configures New.
type Config struct {
	// Policy is the policy the rig grants with.
	Policy policy.Config
	// Sessions reads session cookies; nil: no login configured.
	Sessions authn.SessionReader
	// AnonymousTTL is how long an anonymous caller is said to last [5m].
	AnonymousTTL time.Duration
}

// New builds a rig: an ES256 issuer (issuer "http://127.0.0.1:8080",
// audience "realtime") on the committed test key, with the verified-token
// cache and the rig's revocation list.
func New(t testing.TB, cfg Config) *Rig {
	t.Helper()
	r := &Rig{Now: Start}
	clock := func() time.Time { return r.Now }
	r.Revocations = revocation.NewMemory(clock)
	var err error
	r.Issuer, err = issuer.New(issuer.Config{
		Issuer: "http://127.0.0.1:8080", Audience: "realtime", Now: clock,
		Revocations: r.Revocations, Cache: issuer.NewCache(0, clock),
	}, TestKeys(t, keys.ES256))
	if err != nil {
		t.Fatal(err)
	}
	if r.Policy, err = policy.New(cfg.Policy); err != nil {
		t.Fatal(err)
	}
	ttl := cfg.AnonymousTTL
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	if r.Resolver, err = authn.NewResolver(r.Issuer, r.Policy, cfg.Sessions, ttl); err != nil {
		t.Fatal(err)
	}
	return r
}

// Mint returns a default-profile token for id with the policy's grants
// (ttl 0: the issuer's default).
func (r *Rig) Mint(t testing.TB, id policy.Identity, ttl time.Duration) string {
	t.Helper()
	tok, err := r.Issuer.Mint("", issuer.Request{Identity: id, Grants: r.Policy.Grants(id), TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Value
}

// Revoke revokes sid for an hour.
func (r *Rig) Revoke(t testing.TB, sid string) {
	t.Helper()
	if err := r.Revocations.Revoke(t.Context(), sid, r.Now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// TestKeys loads the committed test keys of the given algorithms (issuer/testdata),
// first one active, so that golden documents stay stable.
func TestKeys(t testing.TB, algs ...string) *keys.Set {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "issuer", "testdata")
	var ks []*keys.Key
	for _, alg := range algs {
		data, err := os.ReadFile(filepath.Join(dir, strings.ToLower(alg)+".pem"))
		if err != nil {
			t.Fatal(err)
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
