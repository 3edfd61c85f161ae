package bench

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"gatehouse/apps"
	"gatehouse/authn"
	"gatehouse/fronts/pusherauth"
	"gatehouse/handlers"
	"gatehouse/issuer"
	"gatehouse/keys"
	"gatehouse/oidc"
	"gatehouse/policy"
)

const (
	paKey, paSecret = "app-key", "app-secret-0123456789abcdef"
	paForm          = "socket_id=123.456&channel_name=private-chat"
)

// paFloor is the least a Pusher channel authorization can do: read the
// form, find the caller (decode the session cookie, or check one ES256
// signature of the Bearer token), sign socket_id:channel_name with the
// app's secret and write pusher-js's JSON. No router, middleware, claims,
// policy, app lookup or metrics.
func paFloor(codec *securecookie.SecureCookie, pub *ecdsa.PublicKey) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ok := false
		if c, err := r.Cookie("gatehouse"); err == nil {
			var s oidc.Session
			ok = codec.Decode("gatehouse", c.Value, &s) == nil
		} else if tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
			ok = floorES256(pub, tok)
		}
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mac := hmac.New(sha256.New, []byte(paSecret))
		mac.Write([]byte(r.Form.Get("socket_id") + ":" + r.Form.Get("channel_name")))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"auth":"` + paKey + ":" + hex.EncodeToString(mac.Sum(nil)) + `"}`))
	}
}

// paOne posts one channel authorization with the header h (a Cookie or an
// Authorization) and checks the answer is the signature.
func paOne(b *testing.B, h http.Handler, header, value string) {
	req := httptest.NewRequest("POST", pusherauth.ChannelAuthPath, strings.NewReader(paForm))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(header, value)
	req.RemoteAddr = "192.0.2.1:1234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"auth":"`+paKey+`:`) {
		b.Fatalf("%s: %d %s", header, rec.Code, rec.Body)
	}
}

// BenchmarkPusherAuthRatio measures POST /pusher/auth for a private
// channel through the real router, resolver, policy and app set, against
// paFloor, interleaved in batches of 100, for the two callers pusher-js
// has: a browser with the session cookie, and a client with a Bearer token
// never seen before (cold). Reports each as a percentage of its floor.
//
//	go test ./bench -run '^$' -bench PusherAuthRatio -cpu 1 -benchtime 6000x -count 5
func BenchmarkPusherAuthRatio(b *testing.B) {
	sessions, cookie, codec := benchSession(b)

	iss := benchIssuer(b, keys.ES256)
	bearers := make([]string, min(b.N, whColdPool))
	for i := range bearers {
		tok, err := iss.Mint("", issuer.Request{Identity: whIdentity, Grants: memberGrants, TTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		bearers[i] = "Bearer " + tok.Value
	}

	floor := paFloor(codec, iss.Keys().Active().VerificationKey().(*ecdsa.PublicKey))

	pol, err := policy.New(policy.Config{Rules: []policy.Rule{{When: policy.Condition{Role: []string{"member"}}, Subscribe: []string{"private-*"}}}})
	if err != nil {
		b.Fatal(err)
	}
	res, err := authn.NewResolver(cachedIssuer(b, iss), pol, sessions, 0)
	if err != nil {
		b.Fatal(err)
	}
	set, err := apps.New(apps.App{ID: "chat", Key: paKey, Secret: paSecret})
	if err != nil {
		b.Fatal(err)
	}
	m := handlers.NewMetrics()
	log := slog.New(slog.DiscardHandler)
	front, err := pusherauth.New(pusherauth.Config{Apps: set}, res.For(authn.FrontPusher), nil, nil, m, log)
	if err != nil {
		b.Fatal(err)
	}
	gh, err := handlers.NewRouter(handlers.ServerConfig{}, m, log, handlers.Routes(front.Routes()))
	if err != nil {
		b.Fatal(err)
	}
	paOne(b, gh, "Cookie", cookie)
	paOne(b, floor, "Cookie", cookie)

	took := interleave(b,
		func(int) { paOne(b, floor, "Cookie", cookie) },
		func(int) { paOne(b, gh, "Cookie", cookie) },
		func(i int) { paOne(b, floor, "Authorization", bearers[i%len(bearers)]) },
		func(i int) { paOne(b, gh, "Authorization", bearers[i%len(bearers)]) })
	tFloorCookie, tCookie, tFloorBearer, tBearer := took[0], took[1], took[2], took[3]
	b.ReportMetric(100*tFloorCookie.Seconds()/tCookie.Seconds(), "pct-of-floor")
	b.ReportMetric(100*tFloorBearer.Seconds()/tBearer.Seconds(), "bearer-pct-of-floor")
	b.ReportMetric(float64(b.N)/tCookie.Seconds(), "cookie-req/s")
	b.ReportMetric(float64(b.N)/tBearer.Seconds(), "bearer-req/s")
}
