package bench

import (
	"crypto/ecdsa"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/authn"
	"gatehouse/fronts/rabbitmq"
	"gatehouse/handlers"
	"gatehouse/issuer"
	"gatehouse/keys"
	"gatehouse/policy"
)

// rmqFloor answers the two checks with the least work each can take:
// user checks one ES256 signature of the password; topic looks the user's
// grants up in a map and matches the routing key. No router, middleware,
// claims, policy or metrics.
func rmqFloor(pub *ecdsa.PublicKey, grants map[string]policy.Grants) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ok := false
		switch r.URL.Path {
		case rabbitmq.PathPrefix + "user":
			ok = floorES256(pub, r.Form.Get("password"))
		case rabbitmq.PathPrefix + "topic":
			g, found := grants[r.Form.Get("username")]
			ok = found && g.CanPublish(r.Form.Get("routing_key"))
		}
		if !ok {
			_, _ = w.Write([]byte("deny"))
			return
		}
		_, _ = w.Write([]byte("allow"))
	}
}

func rmqOne(b *testing.B, h http.Handler, check string, form url.Values) {
	req := httptest.NewRequest("POST", rabbitmq.PathPrefix+check, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = "192.0.2.1:1234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.String() != "allow" {
		b.Fatalf("%s: %d %s", check, rec.Code, rec.Body)
	}
}

// BenchmarkRabbitMQRatio measures rabbitmq_auth_backend_http's two hot
// checks through the real router, resolver, policy and the in-memory user
// table, against rmqFloor, interleaved in batches of 100: the user check
// (a connection's password, a token never seen before) and the topic check
// (a publish's routing key, for a user verified earlier). Reports each as
// a percentage of its floor's rate.
//
//	go test ./bench -run '^$' -bench RabbitMQRatio -cpu 1 -benchtime 6000x -count 3
func BenchmarkRabbitMQRatio(b *testing.B) {
	iss := benchIssuer(b, keys.ES256)
	users := make([]url.Values, min(b.N, whColdPool))
	for i := range users {
		tok, err := iss.Mint("", issuer.Request{Identity: whIdentity, Grants: memberGrants, TTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		users[i] = url.Values{"username": {whIdentity.Subject}, "password": {tok.Value}}
	}
	topic := url.Values{"username": {whIdentity.Subject}, "vhost": {"/"}, "resource": {"topic"}, "name": {"amq.topic"},
		"permission": {"write"}, "routing_key": {"private-chat"}}

	floor := rmqFloor(iss.Keys().Active().VerificationKey().(*ecdsa.PublicKey),
		map[string]policy.Grants{whIdentity.Subject: memberGrants})
	pol, _ := policy.New(policy.Config{})
	res, err := authn.NewResolver(cachedIssuer(b, iss), pol, nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	m := handlers.NewMetrics()
	log := slog.New(slog.DiscardHandler)
	front, err := rabbitmq.New(rabbitmq.Config{}, res.For(authn.FrontRabbitMQ), m, log)
	if err != nil {
		b.Fatal(err)
	}
	gh, err := handlers.NewRouter(handlers.ServerConfig{}, m, log, handlers.Routes(front.Routes()))
	if err != nil {
		b.Fatal(err)
	}
	rmqOne(b, gh, "user", users[0])

	took := interleave(b,
		func(i int) { rmqOne(b, floor, "user", users[i%len(users)]) },
		func(i int) { rmqOne(b, gh, "user", users[i%len(users)]) },
		func(int) { rmqOne(b, floor, "topic", topic) },
		func(int) { rmqOne(b, gh, "topic", topic) })
	tFloorUser, tUser, tFloorTopic, tTopic := took[0], took[1], took[2], took[3]
	b.ReportMetric(100*tFloorUser.Seconds()/tUser.Seconds(), "pct-of-floor")
	b.ReportMetric(100*tFloorTopic.Seconds()/tTopic.Seconds(), "topic-pct-of-floor")
	b.ReportMetric(float64(b.N)/tUser.Seconds(), "user-req/s")
	b.ReportMetric(float64(b.N)/tTopic.Seconds(), "topic-req/s")
}
