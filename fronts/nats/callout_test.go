package nats

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"gatehouse/authn/authntest"
	"gatehouse/fronts/frontstest"
	"gatehouse/policy"
)

// testServer is a server id as NATS makes them (a server public key).
var testServer = func() string {
	kp, _ := nkeys.CreateServer()
	pub, _ := kp.PublicKey()
	return pub
}()

// calloutRig is a Callout without its NATS connections: authorize and
// track decide exactly as they do behind a running service.
func calloutRig(t *testing.T) (*authntest.Rig, *Callout) {
	t.Helper()
	yes := true
	r := authntest.New(t, authntest.Config{Policy: policy.Config{
		Anonymous: policy.Rule{Subscribe: []string{"public.*"}},
		Rules: []policy.Rule{{When: policy.Condition{Authenticated: &yes},
			Subscribe: []string{"public.*", "chat.*", "user.{sub}.*", "user-*"}, Publish: []string{"chat.*"}}},
	}})
	issuer, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return r.Now }
	c := &Callout{
		cfg:     Config{Account: "APP", MaxTTL: 2 * time.Minute, Now: now, Revocations: r.Revocations},
		resolve: r.Resolver, metrics: &frontstest.Decisions{}, log: slog.New(slog.DiscardHandler),
		issuer: issuer, conns: newConns(now),
	}
	return r, c
}

func request(t *testing.T, opts jwt.ConnectOptions, cid uint64) *jwt.AuthorizationRequestClaims {
	t.Helper()
	user, _ := nkeys.CreateUser()
	pub, _ := user.PublicKey()
	req := jwt.NewAuthorizationRequestClaims(pub)
	req.UserNkey = pub
	req.Server = jwt.ServerID{ID: testServer}
	req.ClientInformation = jwt.ClientInformation{ID: cid, Host: "192.0.2.1"}
	req.ConnectOptions = opts
	return req
}

func TestAuthorizeUserJWT(t *testing.T) {
	r, c := calloutRig(t)
	ada := policy.Identity{Subject: "ada", SessionID: "sid-ada"}
	for _, tc := range []struct {
		name string
		opts jwt.ConnectOptions
		ttl  time.Duration
		want time.Duration // the user JWT's lifetime
	}{
		{"auth_token, short token", jwt.ConnectOptions{Token: r.Mint(t, ada, time.Minute)}, time.Minute, time.Minute},
		{"password, long token capped at MaxTTL", jwt.ConnectOptions{Username: "any", Password: r.Mint(t, ada, 10*time.Minute)}, 10 * time.Minute, 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := request(t, tc.opts, 7)
			ujwt, g, err := c.authorize(req)
			if err != nil {
				t.Fatal(err)
			}
			uc, err := jwt.DecodeUserClaims(ujwt)
			if err != nil {
				t.Fatal(err)
			}
			issuerPub, _ := c.issuer.PublicKey()
			if uc.Subject != req.UserNkey || uc.Issuer != issuerPub || uc.Audience != "APP" || uc.Name != "ada" {
				t.Fatalf("claims: sub %s iss %s aud %s name %s", uc.Subject, uc.Issuer, uc.Audience, uc.Name)
			}
			if got := time.Unix(uc.Expires, 0).Sub(r.Now); got != tc.want || !g.until.Equal(r.Now.Add(tc.want)) || g.sid != "sid-ada" {
				t.Fatalf("lifetime %v (grant %+v), want %v", got, g, tc.want)
			}
			if !slices.Equal(uc.Pub.Allow, jwt.StringList{"chat.>"}) || len(uc.Pub.Deny) != 0 {
				t.Fatalf("pub = %+v", uc.Pub)
			}
			// user-* has no NATS form: left out, never widened.
			if !slices.Equal(uc.Sub.Allow, jwt.StringList{"public.>", "chat.>", "user.ada.>"}) || len(uc.Sub.Deny) != 0 {
				t.Fatalf("sub = %+v", uc.Sub)
			}
		})
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	r, c := calloutRig(t)
	ada := policy.Identity{Subject: "ada", SessionID: "sid-ada"}
	good := r.Mint(t, ada, time.Minute)
	tampered := good[:len(good)-4] + "AAAA"
	if tampered == good {
		tampered = good[:len(good)-4] + "BBBB"
	}
	for name, opts := range map[string]jwt.ConnectOptions{
		"nothing (anonymous off)": {},
		"garbage":                 {Token: "garbage"},
		"tampered":                {Token: tampered},
		"user and password":       {Username: "ada", Password: "hunter2"},
	} {
		if _, _, err := c.authorize(request(t, opts, 1)); err == nil {
			t.Errorf("%s: let in", name)
		}
	}
	r.Now = r.Now.Add(2 * time.Minute)
	if _, _, err := c.authorize(request(t, jwt.ConnectOptions{Token: good}, 1)); err == nil {
		t.Error("expired token let in")
	}
	r.Revoke(t, "sid-ada")
	if _, _, err := c.authorize(request(t, jwt.ConnectOptions{Token: r.Mint(t, ada, time.Minute)}, 1)); err == nil {
		t.Error("revoked session's token let in")
	}
}

// Anonymous with nothing to publish: the JWT denies ">" for publishing,
// since an empty allow list would allow everything.
func TestAuthorizeAnonymousDeniesEverythingUngranted(t *testing.T) {
	r, c := calloutRig(t)
	c.cfg.Anonymous, c.cfg.AnonymousTTL = true, time.Minute
	ujwt, g, err := c.authorize(request(t, jwt.ConnectOptions{}, 1))
	if err != nil {
		t.Fatal(err)
	}
	uc, err := jwt.DecodeUserClaims(ujwt)
	if err != nil {
		t.Fatal(err)
	}
	if len(uc.Pub.Allow) != 0 || !slices.Equal(uc.Pub.Deny, jwt.StringList{">"}) || !slices.Equal(uc.Sub.Allow, jwt.StringList{"public.>"}) {
		t.Fatalf("pub %+v sub %+v", uc.Pub, uc.Sub)
	}
	if g.sid != "" || time.Unix(uc.Expires, 0) != r.Now.Add(time.Minute) {
		t.Fatalf("grant %+v, exp %d", g, uc.Expires)
	}
	if err := c.track(request(t, jwt.ConnectOptions{}, 1), g); err != nil || c.conns.len() != 0 {
		t.Fatalf("an anonymous connection has no session to track: %v, %d", err, c.conns.len())
	}
}

// A logout racing a connect: revoked before the connection is recorded,
// the connect is refused; revoked after, the connection is in the index
// the revocation empties.
func TestTrackRacesRevocation(t *testing.T) {
	r, c := calloutRig(t)
	g := grant{sid: "sid-ada", until: r.Now.Add(time.Minute)}
	if err := c.track(request(t, jwt.ConnectOptions{}, 1), g); err != nil {
		t.Fatal(err)
	}
	if err := c.track(request(t, jwt.ConnectOptions{}, 2), g); err != nil {
		t.Fatal(err)
	}
	got := c.conns.take("sid-ada")
	if len(got) != 2 || got[0].server != testServer || got[0].cid != 1 || got[1].cid != 2 {
		t.Fatalf("recorded %+v", got)
	}

	r.Revoke(t, "sid-ada")
	if err := c.track(request(t, jwt.ConnectOptions{}, 3), g); err == nil {
		t.Fatal("a connect of a session revoked meanwhile was let in")
	}
	if c.conns.len() != 0 {
		t.Fatal("a refused connect stayed recorded")
	}

	// A server id that is not a server key never becomes a kick subject.
	bad := request(t, jwt.ConnectOptions{}, 4)
	bad.Server.ID = "x.>"
	if err := c.track(bad, grant{sid: "sid-bob", until: g.until}); err != nil || c.conns.len() != 0 {
		t.Fatalf("untrackable server id recorded: %v", err)
	}
}

// With maxKicks already in flight, a revocation still forgets the
// session's connections but starts no more kicks: those end at their
// expiry, and the goroutines waiting on a slow or absent NATS stay bounded.
func TestRevokedBoundsKicksInFlight(t *testing.T) {
	r, c := calloutRig(t)
	g := grant{sid: "sid-ada", until: r.Now.Add(time.Minute)}
	for cid := range uint64(3) {
		if err := c.track(request(t, jwt.ConnectOptions{}, cid), g); err != nil {
			t.Fatal(err)
		}
	}
	c.kicks.Store(maxKicks)
	c.Revoked("sid-ada")
	if n := c.kicks.Load(); n != maxKicks {
		t.Fatalf("kicks in flight = %d, want %d", n, maxKicks)
	}
	if c.conns.len() != 0 {
		t.Fatal("the revoked session's connections stayed recorded")
	}
}
