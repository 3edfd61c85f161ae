package bench

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"gatehouse/authn"
	"gatehouse/fronts/centrifugo"
	"gatehouse/handlers"
	"gatehouse/issuer"
	"gatehouse/keys"
	"gatehouse/policy"
	"gatehouse/revocation"
)

// cfBody is a Centrifugo v6 connect proxy request with the token in the
// connect data, as centrifuge-js sends it ({data: {token}}).
func cfBody(token string) []byte {
	b, _ := json.Marshal(map[string]any{
		"client": "2f6b0c7c-2b88-4a4e-9c76-9a5d1f0e7c11", "transport": "websocket", "protocol": "json",
		"encoding": "json", "name": "js", "version": "5.7.4", "data": map[string]string{"token": token},
	})
	return b
}

// cfFloor decodes the connect request, checks one ES256 signature and
// answers a fixed result: no routing, middleware, claims, policy, metrics.
func cfFloor(pub *ecdsa.PublicKey) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Data struct {
				Token string `json:"token"`
			} `json:"data"`
		}
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		tok := body.Data.Token
		if !floorES256(pub, tok) {
			http.Error(w, "bad token", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"result":{"user":"auth0|42"}}`))
	}
}

func cfRig(b *testing.B, iss *issuer.Issuer) http.Handler {
	b.Helper()
	pol, _ := policy.New(policy.Config{})
	res, err := authn.NewResolver(iss, pol, nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	m := handlers.NewMetrics()
	log := slog.New(slog.DiscardHandler)
	p, err := centrifugo.New(centrifugo.Config{Enabled: true}, res, revocation.NewMemory(nil), nil, m, log)
	if err != nil {
		b.Fatal(err)
	}
	r, err := handlers.NewRouter(handlers.ServerConfig{}, m, log, handlers.Routes(p.Routes()))
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func cfOne(b *testing.B, h http.Handler, body []byte) {
	req := httptest.NewRequest("POST", "/webhooks/centrifugo/connect", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "192.0.2.1:1234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || !bytes.Contains(rec.Body.Bytes(), []byte(`"result"`)) {
		b.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// BenchmarkCentrifugoConnectRatio measures the connect proxy (real router,
// resolver, policy, meta) against cfFloor, interleaved in batches of 100:
// cold tokens all new, warm ones repeating (verified-token cache). Reports
// the proxy's rate as a percentage of the floor's.
//
//	go test ./bench -run '^$' -bench CentrifugoConnectRatio -cpu 1 -benchtime 6000x -count 3
func BenchmarkCentrifugoConnectRatio(b *testing.B) {
	iss := cachedIssuer(b, benchIssuer(b, keys.ES256))
	n := min(b.N, whColdPool)
	mint := func(n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			tok, err := iss.Mint("", issuer.Request{Identity: whIdentity, Grants: memberGrants, TTL: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			out[i] = cfBody(tok.Value)
		}
		return out
	}
	cold, warm := mint(n), mint(whWarmPool)
	floor := cfFloor(iss.Keys().Active().VerificationKey().(*ecdsa.PublicKey))
	gh := cfRig(b, cachedIssuer(b, iss))
	for _, body := range warm {
		cfOne(b, gh, body)
	}
	took := interleave(b,
		func(i int) { cfOne(b, floor, cold[i%len(cold)]) },
		func(i int) { cfOne(b, gh, cold[i%len(cold)]) },
		func(i int) { cfOne(b, gh, warm[i%len(warm)]) })
	tFloor, tCold, tWarm := took[0], took[1], took[2]
	b.ReportMetric(100*tFloor.Seconds()/tCold.Seconds(), "pct-of-floor")
	b.ReportMetric(100*tFloor.Seconds()/tWarm.Seconds(), "warm-pct-of-floor")
	b.ReportMetric(float64(b.N)/tFloor.Seconds(), "floor-req/s")
	b.ReportMetric(float64(b.N)/tCold.Seconds(), "cold-req/s")
}
