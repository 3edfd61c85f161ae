package bench

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/nacl/box"

	"gatehouse/authn"
	"gatehouse/fronts/nats"
	"gatehouse/handlers"
	"gatehouse/issuer"
	"gatehouse/keys"
	"gatehouse/policy"
)

// floorKey is the account key as the floor signs with it: the public key
// and the ed25519 private key derived from the seed once (an nkeys key
// pair derives both again on every PublicKey and Sign, which JWT encoding
// calls for each JWT: work an answer does not need).
type floorKey struct {
	nkeys.KeyPair
	pub  string
	priv ed25519.PrivateKey
}

func newFloorKey(b *testing.B, kp nkeys.KeyPair) *floorKey {
	b.Helper()
	seed, _ := kp.Seed()
	_, raw, err := nkeys.DecodeSeed(seed)
	if err != nil {
		b.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	return &floorKey{KeyPair: kp, pub: pub, priv: ed25519.NewKeyFromSeed(raw)}
}

func (k *floorKey) PublicKey() (string, error)        { return k.pub, nil }
func (k *floorKey) Sign(input []byte) ([]byte, error) { return ed25519.Sign(k.priv, input), nil }

// natsFloor is the least an auth callout can answer with: open the request
// (when encrypted), decode it (which checks the server's signature), check
// one ES256 signature of the token, sign a user JWT with a fixed permission
// and sign the response around it (with the key derived once), sealed back
// when encrypted. No resolver, claims, policy, subject mapping, tracking or
// metrics.
func natsFloor(pub *ecdsa.PublicKey, signer nkeys.KeyPair, shared *[32]byte) func(data []byte, serverXKey string) []byte {
	return func(data []byte, serverXKey string) []byte {
		if shared != nil {
			if len(data) <= 28 {
				return nil
			}
			var nonce [24]byte
			copy(nonce[:], data[4:28])
			var ok bool
			if data, ok = box.OpenAfterPrecomputation(nil, data[28:], &nonce, shared); !ok {
				return nil
			}
		}
		req, err := jwt.DecodeAuthorizationRequestClaims(string(data))
		if err != nil {
			return nil
		}
		resp := jwt.NewAuthorizationResponseClaims(req.UserNkey)
		resp.Audience = req.Server.ID
		if !floorES256(pub, req.ConnectOptions.Token) {
			resp.Error = "not authorized"
		} else {
			uc := jwt.NewUserClaims(req.UserNkey)
			uc.Audience = "APP"
			uc.Expires = time.Now().Add(time.Minute).Unix()
			uc.Sub.Allow.Add("chat.>")
			if resp.Jwt, err = uc.Encode(signer); err != nil {
				return nil
			}
		}
		out, err := resp.Encode(signer)
		if err != nil {
			return nil
		}
		if shared == nil {
			return []byte(out)
		}
		var nonce [24]byte
		if _, err := rand.Read(nonce[:]); err != nil {
			return nil
		}
		return box.SealAfterPrecomputation(append([]byte(nkeys.XKeyVersionV1), nonce[:]...), []byte(out), &nonce, shared)
	}
}

// natsRequests makes n authorization requests as a NATS server sends them,
// each for a new client (user nkey) with a token never seen before, sealed
// to xkey when it is set. It returns them and the server's xkey header.
func natsRequests(b *testing.B, iss *issuer.Issuer, n int, xkey nkeys.KeyPair) ([][]byte, string) {
	b.Helper()
	server, _ := nkeys.CreateServer()
	serverPub, _ := server.PublicKey()
	var serverX nkeys.KeyPair
	var serverXPub, ourXPub string
	if xkey != nil {
		serverX, _ = nkeys.CreateCurveKeys()
		serverXPub, _ = serverX.PublicKey()
		ourXPub, _ = xkey.PublicKey()
	}
	out := make([][]byte, n)
	for i := range out {
		tok, err := iss.Mint("", issuer.Request{Identity: whIdentity, Grants: policy.Grants{Subscribe: []string{"chat.*"}}, TTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		user, _ := nkeys.CreateUser()
		userPub, _ := user.PublicKey()
		req := jwt.NewAuthorizationRequestClaims(userPub)
		req.UserNkey = userPub
		req.Server = jwt.ServerID{ID: serverPub, XKey: serverXPub}
		req.ClientInformation = jwt.ClientInformation{ID: uint64(i), Host: "192.0.2.1"}
		req.ConnectOptions = jwt.ConnectOptions{Token: tok.Value}
		enc, err := req.Encode(server)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = []byte(enc)
		if serverX != nil {
			if out[i], err = serverX.Seal(out[i], ourXPub); err != nil {
				b.Fatal(err)
			}
		}
	}
	return out, serverXPub
}

// BenchmarkNATSCalloutRatio measures the auth callout's answer to one
// authorization request (nats.Callout.Answer: decode, resolver with the
// verified-token cache, policy, subject mapping, the user JWT and the
// response, metrics) against natsFloor, interleaved in batches of 100, for
// plain and xkey-encrypted requests. Every request is a new client with a
// token never seen before. NATS itself (the request's round trip through
// the server) is not in either side.
//
//	go test ./bench -run '^$' -bench NATSCalloutRatio -cpu 1 -benchtime 4000x -count 5
func BenchmarkNATSCalloutRatio(b *testing.B) {
	for _, encrypted := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "xkey"}[encrypted], func(b *testing.B) {
			iss := benchIssuer(b, keys.ES256)
			acct, _ := nkeys.CreateAccount()
			seed, _ := acct.Seed()
			cfg := nats.Config{IssuerSeed: seed, Account: "APP"}
			var xkey nkeys.KeyPair
			if encrypted {
				xkey, _ = nkeys.CreateCurveKeys()
				cfg.XKeySeed, _ = xkey.Seed()
			}
			reqs, serverXKey := natsRequests(b, iss, min(b.N, whColdPool), xkey)

			yes := true
			pol, err := policy.New(policy.Config{Rules: []policy.Rule{{When: policy.Condition{Authenticated: &yes}, Subscribe: []string{"chat.*"}}}})
			if err != nil {
				b.Fatal(err)
			}
			res, err := authn.NewResolver(cachedIssuer(b, iss), pol, nil, 0)
			if err != nil {
				b.Fatal(err)
			}
			gh, err := nats.New(cfg, res, handlers.NewMetrics(), slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			var shared *[32]byte
			if encrypted {
				shared = floorSharedKey(b, xkey, serverXKey)
			}
			floor := natsFloor(iss.Keys().Active().VerificationKey().(*ecdsa.PublicKey), newFloorKey(b, acct), shared)
			for name, answer := range map[string]func([]byte, string) []byte{"floor": floor, "gatehouse": gh.Answer} {
				if !natsAllowed(answer(reqs[0], serverXKey), acct, xkey, serverXKey) {
					b.Fatalf("%s did not allow the first request", name)
				}
			}
			one := func(answer func([]byte, string) []byte, i int) {
				if answer(reqs[i%len(reqs)], serverXKey) == nil {
					b.Fatal("no answer")
				}
			}
			took := interleave(b,
				func(i int) { one(floor, i) },
				func(i int) { one(gh.Answer, i) })
			b.ReportMetric(100*took[0].Seconds()/took[1].Seconds(), "pct-of-floor")
			b.ReportMetric(float64(b.N)/took[0].Seconds(), "floor-answers/s")
			b.ReportMetric(float64(b.N)/took[1].Seconds(), "answers/s")
		})
	}
}

// floorSharedKey is the NaCl box key the callout's curve key agrees with
// the server's, computed once as a floor may.
func floorSharedKey(b *testing.B, xkey nkeys.KeyPair, serverXKey string) *[32]byte {
	b.Helper()
	seed, _ := xkey.Seed()
	_, priv, err := nkeys.DecodeSeed(seed)
	if err != nil {
		b.Fatal(err)
	}
	pub, err := nkeys.Decode(nkeys.PrefixByteCurve, []byte(serverXKey))
	if err != nil {
		b.Fatal(err)
	}
	k := new([32]byte)
	box.Precompute(k, (*[32]byte)(pub), (*[32]byte)(priv))
	return k
}

// natsAllowed opens and decodes an answer as the NATS server does and
// says whether it lets the client in.
func natsAllowed(body []byte, signer, xkey nkeys.KeyPair, serverXKey string) bool {
	if body == nil {
		return false
	}
	if xkey != nil {
		// The server opens with its own curve key; the floor and
		// Gatehouse sealed to serverXKey with xkey, so xkey can open too.
		var err error
		if body, err = xkey.Open(body, serverXKey); err != nil {
			return false
		}
	}
	resp, err := jwt.DecodeAuthorizationResponseClaims(string(body))
	pub, _ := signer.PublicKey()
	return err == nil && resp.Error == "" && resp.Jwt != "" && resp.Issuer == pub
}
