package rabbitmq

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"time"

	"gatehouse/authn/authntest"
	"gatehouse/internal/httpx"
	"gatehouse/issuer"
	"gatehouse/policy"
)

type nopMetrics struct{}

func (nopMetrics) Decision(string, string) {}

func rig(t *testing.T) (*authntest.Rig, *Backend, http.Handler) {
	t.Helper()
	yes := true
	r := authntest.New(t, authntest.Config{Policy: policy.Config{
		Rules: []policy.Rule{{When: policy.Condition{Authenticated: &yes}, Subscribe: []string{"chat.*"}, Publish: []string{"chat.room"}}},
	}})
	b, err := New(Config{Now: func() time.Time { return r.Now }}, r.Resolver, nopMetrics{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return r, b, httpx.Mux(b.Routes(), func(*http.Request) string { return "192.0.2.1" })
}

func ask(h http.Handler, check string, form url.Values) string {
	req := httptest.NewRequest("POST", PathPrefix+check, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		return "status " + rec.Result().Status
	}
	return rec.Body.String()
}

func TestChecks(t *testing.T) {
	r, _, h := rig(t)
	tok := r.Mint(t, policy.Identity{Subject: "ada", SessionID: "s1"}, 0)
	f := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	// Nothing is known before the user check.
	if got := ask(h, "vhost", f("username", "ada", "vhost", "/")); got != "deny" {
		t.Fatalf("vhost before user: %q", got)
	}
	for name, form := range map[string]url.Values{
		"no password":     f("username", "ada"),
		"garbage":         f("username", "ada", "password", "x.y.z"),
		"another's name":  f("username", "bob", "password", tok),
		"no username":     f("password", tok),
		"name like a sub": f("username", "ada-x", "password", tok),
	} {
		if got := ask(h, "user", form); got != "deny" {
			t.Errorf("user %s: %q", name, got)
		}
	}
	if got := ask(h, "user", f("username", "ada", "password", tok)); got != "allow" {
		t.Fatalf("user: %q", got)
	}
	if got := ask(h, "user", f("username", "ada/phone", "password", tok)); got != "allow" {
		t.Fatalf("user sub/client: %q", got)
	}
	for _, tc := range []struct {
		check string
		form  url.Values
		want  string
	}{
		{"vhost", f("username", "ada", "vhost", "/"), "allow"},
		{"vhost", f("username", "ada", "vhost", "other"), "deny"},
		{"resource", f("username", "ada", "vhost", "/", "resource", "exchange", "name", "amq.topic", "permission", "write"), "allow"},
		{"resource", f("username", "ada", "vhost", "/", "resource", "exchange", "name", "amq.direct", "permission", "write"), "deny"},
		{"resource", f("username", "ada", "vhost", "/", "resource", "exchange", "name", "amq.topic", "permission", "configure"), "deny"},
		{"resource", f("username", "ada", "vhost", "/", "resource", "queue", "name", "mqtt-subscription-c1qos0", "permission", "configure"), "allow"},
		{"resource", f("username", "ada", "vhost", "/", "resource", "queue", "name", "orders", "permission", "read"), "deny"},
		{"resource", f("username", "ada", "vhost", "/", "resource", "queue", "name", "mqtt-subscription-", "permission", "read"), "deny"},
		{"topic", f("username", "ada", "vhost", "/", "resource", "topic", "name", "amq.topic", "permission", "write", "routing_key", "chat.room"), "allow"},
		{"topic", f("username", "ada", "vhost", "/", "resource", "topic", "name", "amq.topic", "permission", "write", "routing_key", "chat.other"), "deny"},
		{"topic", f("username", "ada", "vhost", "/", "resource", "topic", "name", "amq.topic", "permission", "write", "routing_key", "chat.*"), "deny"},
		{"topic", f("username", "ada", "vhost", "/", "resource", "topic", "name", "amq.topic", "permission", "read", "routing_key", "chat.*"), "allow"},
		{"topic", f("username", "ada", "vhost", "/", "resource", "topic", "name", "amq.topic", "permission", "read", "routing_key", "chat.#"), "deny"}, // # also matches "chat"
		{"topic", f("username", "ada", "vhost", "/", "resource", "topic", "name", "amq.topic", "permission", "read", "routing_key", "#"), "deny"},
		{"topic", f("username", "ada", "vhost", "/", "resource", "topic", "name", "other", "permission", "read", "routing_key", "chat.x"), "deny"},
		{"topic", f("username", "ada", "vhost", "/", "resource", "topic", "name", "amq.topic", "permission", "configure", "routing_key", "chat.x"), "deny"},
		{"topic", f("username", "nobody", "vhost", "/", "resource", "topic", "name", "amq.topic", "permission", "read", "routing_key", "chat.x"), "deny"},
	} {
		if got := ask(h, tc.check, tc.form); got != tc.want {
			t.Errorf("%s %v: %q, want %q", tc.check, tc.form, got, tc.want)
		}
	}
}

// A second connection under the same user name never widens the first's
// grants: the kept grants are the intersection.
func TestSameNameNeverWidens(t *testing.T) {
	r, b, h := rig(t)
	narrow, err := r.Issuer.Mint("", issuerRequest(policy.Identity{Subject: "ada"}, []string{"realtime:publisher:write:topic:chat.room"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{narrow.Value, r.Mint(t, policy.Identity{Subject: "ada"}, 0)} {
		if got := ask(h, "user", url.Values{"username": {"ada"}, "password": {tok}}); got != "allow" {
			t.Fatal(got)
		}
	}
	grants, ok, err := b.users.Get(context.Background(), "ada")
	if err != nil || !ok || len(grants.Subscribe) != 0 || !slices.Equal(grants.Publish, []string{"chat.room"}) {
		t.Fatalf("kept %+v (%v, %v)", grants, ok, err)
	}
}

func TestTopicVariants(t *testing.T) {
	for key, want := range map[string][]string{
		"chat.room":   {"chat.room"},
		"chat.*":      {"chat.*"},
		"chat.#":      {"chat.*", "chat"},
		"#":           {"*"},
		"a.#.b":       {"a.*.b", "a.b"},
		"a.#.b.#.c.#": {"a.*.b.*.c.*", "a.b.*.c.*", "a.*.b.c.*", "a.b.c.*", "a.*.b.*.c", "a.b.*.c", "a.*.b.c", "a.b.c"},
	} {
		got, ok := topicVariants(key)
		slices.Sort(got)
		slices.Sort(want)
		if !ok || !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", key, got, want)
		}
	}
	for _, bad := range []string{"", "a..b", "a*", "#.#.#.#", "a.b#"} {
		if _, ok := topicVariants(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func issuerRequest(id policy.Identity, perms []string) issuer.Request {
	g, _ := policy.ParsePermissions(perms)
	return issuer.Request{Identity: id, Grants: g}
}
