package bench

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"gatehouse/authn"
	"gatehouse/fronts/forwardauth"
	"gatehouse/handlers"
	"gatehouse/keys"
	"gatehouse/oidc"
	"gatehouse/policy"
)

// BenchmarkForwardAuthVerifyRatio measures GET /auth/verify answering from
// a session cookie (real router, session decode and checks, policy, the
// identity headers) against a floor that decodes the same cookie with the
// same securecookie keys and writes a fixed 200, interleaved in batches of
// 100. No network round trip is involved in either.
//
//	go test ./bench -run '^$' -bench ForwardAuthVerifyRatio -cpu 1 -benchtime 20000x -count 3
func BenchmarkForwardAuthVerifyRatio(b *testing.B) {
	sessions, cookie, floorCodec := benchSession(b)
	floor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("gatehouse")
		var s oidc.Session
		if err != nil || floorCodec.Decode("gatehouse", c.Value, &s) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Auth-Request-User", s.Subject)
		w.WriteHeader(http.StatusOK)
	})

	iss := benchIssuer(b, keys.ES256)
	pol, _ := policy.New(policy.Config{})
	res, err := authn.NewResolver(iss, pol, sessions, 0)
	if err != nil {
		b.Fatal(err)
	}
	m := handlers.NewMetrics()
	log := slog.New(slog.DiscardHandler)
	front, err := forwardauth.New(forwardauth.Config{PublicURL: "https://gh.example"}, res, nil, m, log)
	if err != nil {
		b.Fatal(err)
	}
	gh, err := handlers.NewRouter(handlers.ServerConfig{}, m, log, handlers.Routes(front.Routes()))
	if err != nil {
		b.Fatal(err)
	}
	one := func(h http.Handler) {
		req := httptest.NewRequest("GET", "/auth/verify", nil)
		req.Header.Set("Cookie", cookie)
		req.RemoteAddr = "192.0.2.1:1234"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || rec.Header().Get("X-Auth-Request-User") != "auth0|42" {
			b.Fatalf("%d %v", rec.Code, rec.Header())
		}
	}
	took := interleave(b, func(int) { one(floor) }, func(int) { one(gh) })
	tFloor, tGH := took[0], took[1]
	b.ReportMetric(100*tFloor.Seconds()/tGH.Seconds(), "pct-of-floor")
	b.ReportMetric(float64(b.N)/tFloor.Seconds(), "floor-req/s")
	b.ReportMetric(float64(b.N)/tGH.Seconds(), "verify-req/s")
}
