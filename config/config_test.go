package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// refusal is a document Parse (Dev) must refuse, and what the error says.
type refusal struct{ doc, want string }

// wantRefused checks that Parse refuses each document with its message.
func wantRefused(t *testing.T, cases []refusal) {
	t.Helper()
	for _, tc := range cases {
		_, err := Parse([]byte(tc.doc), Dev, env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %q", tc.doc, err, tc.want)
		}
	}
}

const minimalServe = `
server: {public_url: "https://rt.example.com"}
keys: {dir: /tmp/keys}
`

func TestDefaults(t *testing.T) {
	dev, err := Parse(nil, Dev, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !On(dev.Tokens.Anonymous.Enabled) || !On(dev.DevIDP.Enabled) || dev.Server.Addr != "127.0.0.1:8080" {
		t.Fatalf("dev defaults: %+v", dev)
	}
	srv, err := Parse([]byte(minimalServe), Serve, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if On(srv.Tokens.Anonymous.Enabled) || On(srv.DevIDP.Enabled) {
		t.Fatal("serve must not enable anonymous tokens or the dev IdP by default")
	}
	if srv.Tokens.Issuer != "https://rt.example.com" || srv.Tokens.Audience != "realtime" || srv.Tokens.TTL != 5*time.Minute {
		t.Fatalf("token defaults: %+v", srv.Tokens)
	}
	if srv.OIDC.Session.CookieName != "__Host-gatehouse" {
		t.Fatalf("https cookie name %q", srv.OIDC.Session.CookieName)
	}
	if srv.Realtime.Limits.MaxMessageBytes != 10240 || srv.Realtime.Backplane != "memory" {
		t.Fatalf("realtime defaults: %+v", srv.Realtime)
	}
}

func TestLimitsSubsetKeepsDefaults(t *testing.T) {
	c, err := Parse([]byte(minimalServe+"realtime: {limits: {presence_members: 5}}\n"), Serve, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Realtime.Limits
	if l.PresenceMembers != 5 || l.MaxConnections != 100000 || l.ClientEventsPerSecond != 10 {
		t.Fatalf("limits %+v", l)
	}
}

func TestEnvExpansion(t *testing.T) {
	doc := minimalServe + `
tokens:
  audience: ${AUD:-realtime}
  anonymous:
    rate:
      per_ip: ${RATE}
      per: 1m
apps:
  - id: chat
    key: "${KEY}"
    secret: ${SECRET}
`
	c, err := Parse([]byte(doc), Serve, env(map[string]string{"RATE": "7", "KEY": "k1", "SECRET": "s3cr3t: {not: yaml}\n- x"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tokens.Audience != "realtime" || c.Tokens.Anonymous.Rate.PerIP != 7 {
		t.Fatalf("tokens %+v", c.Tokens)
	}
	if c.Apps[0].Key != "k1" || c.Apps[0].Secret != "s3cr3t: {not: yaml}\n- x" {
		t.Fatalf("an environment value must stay one string, got %q", c.Apps[0].Secret)
	}
	_, err = Parse([]byte(minimalServe+"tokens:\n  audience: ${MISSING}\n"), Serve, env(nil))
	if err == nil || !strings.Contains(err.Error(), "MISSING") {
		t.Fatalf("unset variable: %v", err)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown key", minimalServe + "tokens: {audiense: x}\n", "audiense"},
		{"unknown top-level", minimalServe + "extra: 1\n", "extra"},
		{"bad alg", "server: {public_url: https://x}\nkeys: {signing: [{kid: a, alg: ES256, file: f}, {kid: b, alg: ES257, file: g}]}\n", `keys.signing[1].alg (line 2): unsupported "ES257"`},
		{"dup kid", "server: {public_url: https://x}\nkeys: {signing: [{kid: a, alg: ES256, file: f}, {kid: a, alg: ES256, file: g}]}\n", `keys.signing[1].kid (line 2): duplicate "a"`},
		{"anon alg without key", "server: {public_url: https://x}\nkeys: {signing: [{kid: a, alg: ES256, file: f}]}\ntokens: {anonymous: {enabled: true, algorithms: [ES256, EdDSA]}}\n", `tokens.anonymous.algorithms[1] (line 3): no key in keys.signing has alg "EdDSA"`},
		{"anon HS256", minimalServe + "tokens: {anonymous: {enabled: true, algorithms: [HS256]}}\n", "tokens.anonymous.algorithms[0] (line 4)"},
		{"ttl too long", minimalServe + "tokens: {ttl: 2h}\n", "tokens.ttl"},
		{"bad duration", minimalServe + "tokens: {ttl: soon}\n", "soon"},
		{"no public_url", "keys: {dir: /k}\n", "server.public_url: is required"},
		{"public_url with path", "server: {public_url: https://x/app}\nkeys: {dir: /k}\n", "server.public_url"},
		{"no keys", "server: {public_url: https://x}\n", "keys:"},
		{"bad proxy", "keys: {dir: /k}\nserver: {public_url: https://x, trusted_proxies: [nope]}\n", "server.trusted_proxies[0]"},
		{"http issuer", minimalServe + "oidc: {providers: [{name: a, issuer: http://idp, client_id: c}], session: {hash_keys: [" + strings.Repeat("A", 44) + "], block_keys: [" + strings.Repeat("A", 44) + "]}}\n", "oidc.providers[0].issuer"},
		{"no session keys", minimalServe + "oidc: {providers: [{name: a, issuer: https://idp, client_id: c}]}\n", "oidc.session.hash_keys"},
		{"short hash key", minimalServe + "oidc: {session: {hash_keys: [AAAA]}}\n", "oidc.session.hash_keys[0]"},
		{"bad backplane", minimalServe + "realtime: {backplane: etcd}\n", `realtime.backplane (line 4): unknown "etcd"`},
		{"zero limit", minimalServe + "realtime: {limits: {max_connections: 0}}\n", "realtime.limits.max_connections"},
		{"short secret", minimalServe + "apps: [{id: a, key: k, secret: short}]\n", "apps[0].secret"},
		{"bad cidr", minimalServe + "apps: [{id: a, key: k, secret: 0123456789abcdef, client_source_address: [\"!10.0.0.0/33\"]}]\n", "apps[0].client_source_address[0]"},
		{"webhook event", minimalServe + "apps: [{id: a, key: k, secret: 0123456789abcdef, webhooks: [{url: https://h, events: [boom]}]}]\n", "apps[0].webhooks[0].events[0]"},
		{"ably key", minimalServe + "profiles: {ably: {key_name: nodot, key_secret: s}}\n", "profiles.ably.key_name"},
		{"not yaml", "server: [", "config:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), Serve, env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name %q", err, tc.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	doc := minimalServe + `
apps: [{id: a, key: k, secret: 0123456789abcdef, encryption_master_key: "` + strings.Repeat("A", 43) + `="}]
realtime: {backplane: redis, redis: {url: "redis://u:hunter2@127.0.0.1:6379/0"}}
profiles: {ably: {key_name: app.key, key_secret: topsecret}}
`
	c, err := Parse([]byte(doc), Serve, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Redact()
	if r.Apps[0].Secret != Redacted || r.Apps[0].EncryptionMasterKey != Redacted || r.Profiles.Ably.KeySecret != Redacted {
		t.Fatalf("secrets left: %+v %+v", r.Apps[0], r.Profiles.Ably)
	}
	if strings.Contains(r.Realtime.Redis.URL, "hunter2") {
		t.Fatalf("redis password left: %s", r.Realtime.Redis.URL)
	}
	if c.Apps[0].Secret != "0123456789abcdef" {
		t.Fatal("Redact changed the original")
	}
	if r.Apps[0].Key != "k" {
		t.Fatal("non-secret redacted")
	}
}

func TestStringList(t *testing.T) {
	c, err := Parse([]byte(minimalServe+"policy: {rules: [{when: {role: admin}, subscribe: [a]}, {when: {role: [x, y]}, publish: [b]}]}\n"), Serve, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Policy.Rules[0].When.Role; len(got) != 1 || got[0] != "admin" {
		t.Fatalf("single %v", got)
	}
	if got := c.Policy.Rules[1].When.Role; len(got) != 2 {
		t.Fatalf("list %v", got)
	}
}
