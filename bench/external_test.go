package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/authn"
	"gatehouse/authn/trust"
	"gatehouse/policy"
)

// extPool is how many distinct external tokens a cold run cycles through.
const extPool = 20000

// extRig is an app whose auth_key is a raw PEM public key of alg, the
// resolver the topic socket asks, and tokens signed as the 21no.de
// examples sign them (permissions, iss, sub, exp).
func extRig(b *testing.B, alg string) (*authn.Resolver, crypto.PublicKey, jwt.SigningMethod, func(n int) []string) {
	b.Helper()
	var (
		priv   crypto.Signer
		method jwt.SigningMethod
	)
	switch alg {
	case "RS256":
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		priv, method = k, jwt.SigningMethodRS256
	case "ES256":
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		priv, method = k, jwt.SigningMethodES256
	}
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		b.Fatal(err)
	}
	v, err := trust.New(trust.Config{Name: "apps.bench.auth_key", Issuers: []string{"https://idp.example/"},
		PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), Algorithms: []string{alg}},
		trust.Options{CacheSize: 2 * extPool})
	if err != nil {
		b.Fatal(err)
	}
	iss := benchIssuer(b, "ES256")
	pol, _ := policy.New(policy.Config{})
	res, err := authn.NewResolver(iss, pol, nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	res.Configure(nil, map[string]authn.AppKeys{"bench": {Auth: &authn.External{Verifier: v, Grants: authn.GrantsToken}}})
	tokens := func(n int) []string {
		out := make([]string, n)
		exp := time.Now().Add(time.Hour).Unix()
		for i := range out {
			s, err := jwt.NewWithClaims(method, jwt.MapClaims{
				"iss": "https://idp.example/", "sub": "user-" + strconv.Itoa(i), "exp": exp,
				"permissions": []string{"realtime:subscriber:read:topic:chat.*", "realtime:publisher:write:topic:chat.room"},
			}).SignedString(priv)
			if err != nil {
				b.Fatal(err)
			}
			out[i] = s
		}
		return out
	}
	return res, priv.Public(), method, tokens
}

// BenchmarkExternalTokenRatio measures what the topic socket does with an
// external token before the upgrade (Resolver.AppToken: pick the app's key
// by iss, verify with the RFC 8725 rules, map permissions to grants, cache)
// against a floor of one bare golang-jwt verification with the same key,
// interleaved in batches of 100 so that other load hits both alike. Cold
// tokens are all distinct; warm ones repeat (answered from the cache).
//
//	go test ./bench -run '^$' -bench ExternalTokenRatio -cpu 1 -benchtime 4000x -count 3
func BenchmarkExternalTokenRatio(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run(alg, func(b *testing.B) {
			res, pub, method, mint := extRig(b, alg)
			n := min(b.N, extPool)
			cold := mint(n)
			warm := mint(100)
			floorParser := jwt.NewParser(jwt.WithValidMethods([]string{method.Alg()}), jwt.WithExpirationRequired())
			keyFn := func(*jwt.Token) (any, error) { return pub, nil }
			ctx := context.Background()
			for _, t := range warm {
				if _, err := res.AppToken(ctx, "bench", authn.AuthKey, t); err != nil {
					b.Fatal(err)
				}
			}
			app := func(tokens []string) func(int) {
				return func(i int) {
					if _, err := res.AppToken(ctx, "bench", authn.AuthKey, tokens[i%len(tokens)]); err != nil {
						b.Fatal(err)
					}
				}
			}
			took := interleave(b, func(i int) {
				if _, err := floorParser.Parse(cold[i%len(cold)], keyFn); err != nil {
					b.Fatal(err)
				}
			}, app(cold), app(warm))
			tFloor, tCold, tWarm := took[0], took[1], took[2]
			if b.N > extPool {
				b.Logf("b.N %d > %d: cold tokens repeated, cold figures flattered", b.N, extPool)
			}
			b.ReportMetric(100*tFloor.Seconds()/tCold.Seconds(), "pct-of-floor")
			b.ReportMetric(100*tFloor.Seconds()/tWarm.Seconds(), "warm-pct-of-floor")
			b.ReportMetric(float64(b.N)/tFloor.Seconds(), "floor-req/s")
			b.ReportMetric(float64(b.N)/tCold.Seconds(), "cold-req/s")
		})
	}
}
