package bench

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"gatehouse/authn"
	"gatehouse/fronts/deepstream"
	"gatehouse/handlers"
	"gatehouse/issuer"
	"gatehouse/keys"
	"gatehouse/policy"
)

// whColdPool is the number of distinct tokens the cold benchmarks cycle
// through: run them with -benchtime at most this many iterations (the
// command in BENCHMARKS.md uses 20000x), so that every request carries a
// token the cache has never seen.
const whColdPool = 20000

// whWarmPool is the number of distinct tokens the warm benchmark repeats
// (a reconnect storm of 100 users).
const whWarmPool = 100

var whIdentity = policy.Identity{Subject: "auth0|42", Name: "Ada", Roles: []string{"member"}, Groups: []string{"eng"}, SessionID: "s1"}

// whBody is a webhook body as deepstream 7 sends it: the upgrade request's
// headers and the client's authData.
func whBody(token string) []byte {
	b, _ := json.Marshal(map[string]any{
		"connectionData": map[string]any{
			"headers": map[string]string{
				"host": "ds.example.com", "connection": "Upgrade", "upgrade": "websocket",
				"sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
				"sec-websocket-extensions": "permessage-deflate; client_max_window_bits",
				"user-agent":               "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
				"origin":                   "https://app.example.com", "accept-encoding": "gzip, deflate, br", "accept-language": "en-GB,en;q=0.9",
			},
			"remoteAddress": "203.0.113.7", "referer": "https://app.example.com/",
		},
		"authData": map[string]string{"token": token},
	})
	return b
}

// whFloor is the least a webhook can do: decode the token out of the body,
// check one ES256 signature, write a fixed answer. No routing, middleware,
// claim checks, policy or metrics.
func whFloor(pub *ecdsa.PublicKey) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			AuthData struct {
				Token string `json:"token"`
			} `json:"authData"`
		}
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, "bad body", http.StatusUnauthorized)
			return
		}
		tok := body.AuthData.Token
		if !floorES256(pub, tok) {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"auth0|42","clientData":{},"serverData":{}}`))
	}
}

// whRig is the real router with the deepstream webhook, over an ES256 issuer
// with the verified-token cache.
func whRig(b *testing.B) (http.Handler, *issuer.Issuer) {
	b.Helper()
	iss := cachedIssuer(b, benchIssuer(b, keys.ES256))
	pol, err := policy.New(policy.Config{Anonymous: policy.Rule{Subscribe: []string{"public-*"}}})
	if err != nil {
		b.Fatal(err)
	}
	res, err := authn.NewResolver(iss, pol, nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	m := handlers.NewMetrics()
	log := slog.New(slog.DiscardHandler)
	ds, err := deepstream.New(deepstream.Config{Enabled: true, Anonymous: true}, res, m, log)
	if err != nil {
		b.Fatal(err)
	}
	router, err := handlers.NewRouter(handlers.ServerConfig{}, m, log, handlers.Routes(ds.Routes()))
	if err != nil {
		b.Fatal(err)
	}
	return router, iss
}

func whBodies(b *testing.B, iss *issuer.Issuer, n int) [][]byte {
	b.Helper()
	out := make([][]byte, n)
	for i := range out {
		tok, err := iss.Mint("", issuer.Request{Identity: whIdentity, Grants: memberGrants, TTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		out[i] = whBody(tok.Value)
	}
	return out
}

func whServe(b *testing.B, h http.Handler, bodies [][]byte, cold bool) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if cold && i == len(bodies) {
			b.Fatalf("cold run needs -benchtime at most %dx (every token new)", len(bodies))
		}
		req := httptest.NewRequest("POST", "/webhooks/deepstream", bytes.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.RemoteAddr = "192.0.2.1:1234"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkDeepstreamWebhook measures POST /webhooks/deepstream with ES256
// tokens through the real router, against whFloor in the same run:
//
//	floor-cold      bare handler, one ES256 verify per request
//	gatehouse-cold  every token new (a verify, a cache insert, the policy
//	                answer, the JSON, the middleware)
//	gatehouse-warm  100 tokens repeating (answered from the cache)
//
// Run on one core: go test ./bench -run '^$' -bench DeepstreamWebhook -cpu 1 -benchtime 20000x -count 5
func BenchmarkDeepstreamWebhook(b *testing.B) {
	router, iss := whRig(b)
	cold := whBodies(b, iss, whColdPool)
	warm := whBodies(b, iss, whWarmPool)
	pub, ok := iss.Keys().Active().VerificationKey().(*ecdsa.PublicKey)
	if !ok {
		b.Fatal("active key is not ES256")
	}
	b.Run("floor-cold", func(b *testing.B) { whServe(b, whFloor(pub), cold, true) })
	// A fresh router per cold run: its cache must not have seen the pool.
	b.Run("gatehouse-cold", func(b *testing.B) {
		r, _ := whRigWithIssuer(b, iss)
		whServe(b, r, cold, true)
	})
	b.Run("gatehouse-warm", func(b *testing.B) { whServe(b, router, warm, false) })
}

// cachedIssuer is an issuer like iss (same keys, so it verifies what iss
// minted) with an empty verified-token cache.
func cachedIssuer(b *testing.B, iss *issuer.Issuer) *issuer.Issuer {
	b.Helper()
	c, err := issuer.New(issuer.Config{Issuer: iss.Issuer(), Audience: iss.Audience(),
		Cache: issuer.NewCache(issuer.DefaultCacheSize, nil)}, iss.Keys())
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// whRigWithIssuer rebuilds the router around an issuer like iss with an
// empty cache.
func whRigWithIssuer(b *testing.B, iss *issuer.Issuer) (http.Handler, error) {
	b.Helper()
	iss = cachedIssuer(b, iss)
	pol, _ := policy.New(policy.Config{})
	res, err := authn.NewResolver(iss, pol, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	m := handlers.NewMetrics()
	log := slog.New(slog.DiscardHandler)
	ds, err := deepstream.New(deepstream.Config{Enabled: true}, res, m, log)
	if err != nil {
		b.Fatal(err)
	}
	r, err := handlers.NewRouter(handlers.ServerConfig{}, m, log, handlers.Routes(ds.Routes()))
	if err != nil {
		b.Fatal(err)
	}
	return r, nil
}

// BenchmarkDeepstreamWebhookRatio measures the same two handlers as
// BenchmarkDeepstreamWebhook's cold pair, interleaved in batches of 100
// requests so that load from other processes hits both alike, and reports
// the gatehouse rate as a percentage of the floor's (pct-of-floor) and the
// warm (cached) rate as a percentage of the floor's (warm-pct-of-floor).
// Each b.N iteration is one request of each of the three kinds.
//
//	go test ./bench -run '^$' -bench DeepstreamWebhookRatio -cpu 1 -benchtime 6000x -count 5
func BenchmarkDeepstreamWebhookRatio(b *testing.B) {
	_, iss := whRig(b)
	n := b.N
	if n > whColdPool {
		n = whColdPool
	}
	cold := whBodies(b, iss, n)
	warm := whBodies(b, iss, whWarmPool)
	pub := iss.Keys().Active().VerificationKey().(*ecdsa.PublicKey)
	floor := whFloor(pub)
	gh, _ := whRigWithIssuer(b, iss)
	for _, body := range warm { // warm the cache
		whOne(b, gh, body)
	}
	took := interleave(b,
		func(i int) { whOne(b, floor, cold[i%len(cold)]) },
		func(i int) { whOne(b, gh, cold[i%len(cold)]) },
		func(i int) { whOne(b, gh, warm[i%len(warm)]) })
	tFloor, tCold, tWarm := took[0], took[1], took[2]
	if b.N > whColdPool {
		b.Logf("b.N %d > %d: cold tokens repeated, cold figures flattered", b.N, whColdPool)
	}
	b.ReportMetric(100*tFloor.Seconds()/tCold.Seconds(), "pct-of-floor")
	b.ReportMetric(100*tFloor.Seconds()/tWarm.Seconds(), "warm-pct-of-floor")
	b.ReportMetric(float64(b.N)/tFloor.Seconds(), "floor-req/s")
	b.ReportMetric(float64(b.N)/tCold.Seconds(), "cold-req/s")
	b.ReportMetric(float64(b.N)/tWarm.Seconds(), "warm-req/s")
}

func whOne(b *testing.B, h http.Handler, body []byte) {
	req := httptest.NewRequest("POST", "/webhooks/deepstream", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.RemoteAddr = "192.0.2.1:1234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
