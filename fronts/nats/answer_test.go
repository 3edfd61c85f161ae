package nats

import (
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"gatehouse/authn/authntest"
	"gatehouse/fronts/frontstest"
	"gatehouse/policy"
)

// answerRig is a Callout built with New (no connections), and the keys a
// NATS server would hold: its server key and, with encryption, its curve
// key.
type answerRig struct {
	r         *authntest.Rig
	c         *Callout
	account   string
	server    nkeys.KeyPair
	serverX   nkeys.KeyPair
	serverXPK string
}

func newAnswerRig(t *testing.T, encrypted bool) *answerRig {
	t.Helper()
	yes := true
	r := authntest.New(t, authntest.Config{Policy: policy.Config{
		Rules: []policy.Rule{{When: policy.Condition{Authenticated: &yes}, Subscribe: []string{"chat.*"}}},
	}})
	acct, _ := nkeys.CreateAccount()
	seed, _ := acct.Seed()
	accountPub, _ := acct.PublicKey()
	cfg := Config{IssuerSeed: seed, Account: "APP", Now: func() time.Time { return r.Now }}
	a := &answerRig{r: r, account: accountPub}
	a.server, _ = nkeys.CreateServer()
	if encrypted {
		ours, _ := nkeys.CreateCurveKeys()
		cfg.XKeySeed, _ = ours.Seed()
		a.serverX, _ = nkeys.CreateCurveKeys()
		a.serverXPK, _ = a.serverX.PublicKey()
	}
	c, err := New(cfg, r.Resolver, &frontstest.Decisions{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a.c = c
	return a
}

// request is what the server sends for a client connecting with token:
// the signed request, sealed to the callout's xkey when encrypted.
func (a *answerRig) request(t *testing.T, token string) (data []byte, userPub string) {
	t.Helper()
	user, _ := nkeys.CreateUser()
	userPub, _ = user.PublicKey()
	serverPub, _ := a.server.PublicKey()
	req := jwt.NewAuthorizationRequestClaims(userPub)
	req.UserNkey = userPub
	req.Server = jwt.ServerID{ID: serverPub, XKey: a.serverXPK}
	req.ClientInformation = jwt.ClientInformation{ID: 1, Host: "192.0.2.1"}
	req.ConnectOptions = jwt.ConnectOptions{Token: token}
	enc, err := req.Encode(a.server)
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(enc)
	if a.serverX != nil {
		ourPub, _ := a.c.xkey.PublicKey()
		if data, err = a.serverX.Seal(data, ourPub); err != nil {
			t.Fatal(err)
		}
	}
	return data, userPub
}

// response opens and decodes an answer as the server does.
func (a *answerRig) response(t *testing.T, body []byte) *jwt.AuthorizationResponseClaims {
	t.Helper()
	if body == nil {
		t.Fatal("no answer")
	}
	if a.serverX != nil {
		ourPub, _ := a.c.xkey.PublicKey()
		var err error
		if body, err = a.serverX.Open(body, ourPub); err != nil {
			t.Fatalf("the answer does not decrypt for the server: %v", err)
		}
	}
	resp, err := jwt.DecodeAuthorizationResponseClaims(string(body))
	if err != nil {
		t.Fatal(err)
	}
	serverPub, _ := a.server.PublicKey()
	if resp.Issuer != a.account || resp.Audience != serverPub {
		t.Fatalf("response issuer %s audience %s", resp.Issuer, resp.Audience)
	}
	return resp
}

func TestAnswer(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "encrypted"}[encrypted]
		t.Run(name, func(t *testing.T) {
			a := newAnswerRig(t, encrypted)
			tok := a.r.Mint(t, policy.Identity{Subject: "ada", SessionID: "sid-ada"}, time.Minute)

			data, userPub := a.request(t, tok)
			resp := a.response(t, a.c.Answer(data, a.serverXPK))
			if resp.Subject != userPub || resp.Error != "" {
				t.Fatalf("allowed response: sub %s error %q", resp.Subject, resp.Error)
			}
			uc, err := jwt.DecodeUserClaims(resp.Jwt)
			if err != nil || uc.Subject != userPub || uc.Name != "ada" || uc.Audience != "APP" {
				t.Fatalf("user JWT %+v: %v", uc, err)
			}

			// A refusal is an answer, with the error set and no user JWT.
			data, _ = a.request(t, tok[:len(tok)-2]+"xx")
			if resp := a.response(t, a.c.Answer(data, a.serverXPK)); resp.Error != "not authorized" || resp.Jwt != "" {
				t.Fatalf("refusal: error %q jwt %q", resp.Error, resp.Jwt)
			}

			// What cannot be understood is not answered.
			if a.c.Answer([]byte("not a request"), a.serverXPK) != nil {
				t.Fatal("garbage answered")
			}
		})
	}
}

// With encryption on, a request without the xkey header, or whose header
// is not the server xkey it signed, is ignored.
func TestAnswerEncryptedMismatches(t *testing.T) {
	a := newAnswerRig(t, true)
	tok := a.r.Mint(t, policy.Identity{Subject: "ada"}, time.Minute)
	data, _ := a.request(t, tok)
	if a.c.Answer(data, "") != nil {
		t.Fatal("answered a request without the xkey header")
	}
	other, _ := nkeys.CreateCurveKeys()
	otherPub, _ := other.PublicKey()
	ourPub, _ := a.c.xkey.PublicKey()
	// Sealed by another curve key that names itself in the header, while
	// the signed request names the server's.
	serverPub, _ := a.server.PublicKey()
	user, _ := nkeys.CreateUser()
	userPub, _ := user.PublicKey()
	req := jwt.NewAuthorizationRequestClaims(userPub)
	req.UserNkey = userPub
	req.Server = jwt.ServerID{ID: serverPub, XKey: a.serverXPK}
	req.ConnectOptions = jwt.ConnectOptions{Token: tok}
	enc, _ := req.Encode(a.server)
	sealed, err := other.Seal([]byte(enc), ourPub)
	if err != nil {
		t.Fatal(err)
	}
	if a.c.Answer(sealed, otherPub) != nil {
		t.Fatal("answered a request whose xkey header is not its signed server xkey")
	}
}

// A Callout built with New is not connected: Ready says so and Close is a
// no-op.
func TestNewIsNotStarted(t *testing.T) {
	a := newAnswerRig(t, false)
	if err := a.c.Ready(t.Context()); err == nil {
		t.Fatal("ready without a connection")
	}
	if err := a.c.Close(); err != nil {
		t.Fatal(err)
	}
}
