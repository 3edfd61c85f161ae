package config

import (
	"strings"
	"testing"
)

// SPEC writes references inside flow collections (hash_keys:
// [${SESSION_HASH_KEY}], {key_secret: ${ABLY_KEY_SECRET}}), where their
// braces are YAML's own indicators: such a file must parse, and a value
// must still stay one string, whatever it contains.
func TestEnvRefsInFlowCollections(t *testing.T) {
	hash, block := "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=", "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=" // 32 bytes each, base64
	doc := minimalServe + `
oidc:
  session:
    hash_keys: [${HASH}]          # ${NOT_READ}: references in comments are not read
    block_keys: [${BLOCK}]
profiles:
  ably: {key_name: "appId.keyId", key_secret: ${ABLY:-fallback, with: [yaml] #1}}
apps: [{id: chat, key: ${KEY}, secret: ${SECRET}}]
`
	c, err := Parse([]byte(doc), Serve, env(map[string]string{"HASH": hash, "BLOCK": block, "KEY": "k, ]}", "SECRET": "s3cr3t-0123456789]: {x}"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.OIDC.Session.HashKeys) != 1 || c.OIDC.Session.HashKeys[0] != hash || c.OIDC.Session.BlockKeys[0] != block {
		t.Fatalf("session keys %q %q", c.OIDC.Session.HashKeys, c.OIDC.Session.BlockKeys)
	}
	if got := c.Profiles.Ably.KeySecret; got != "fallback, with: [yaml] #1" {
		t.Fatalf("default with YAML characters: %q", got)
	}
	if c.Apps[0].Key != "k, ]}" || c.Apps[0].Secret != "s3cr3t-0123456789]: {x}" {
		t.Fatalf("values must stay one string each: %q %q", c.Apps[0].Key, c.Apps[0].Secret)
	}
	_, err = Parse([]byte(minimalServe+"tokens: {audience: [${UNSET}]}\n"), Serve, env(nil))
	if err == nil || !strings.Contains(err.Error(), "line 4: environment variable UNSET is not set") {
		t.Fatalf("unset variable in a flow collection: %v", err)
	}
}

// SPEC writes inbound_topic: true; the section form stays, with its own
// keys only.
func TestInboundTopicBoolOrSection(t *testing.T) {
	app := func(v string) string {
		return minimalServe + "apps: [{id: chat, key: k, secret: s-0123456789abcdef, inbound_topic: " + v + "}]\n"
	}
	for v, want := range map[string]InboundTopic{
		"true":                            {Enabled: true},
		"false":                           {},
		"{enabled: true, topic: in/box}":  {Enabled: true, Topic: "in/box"},
		"{enabled: false, topic: in/box}": {Topic: "in/box"},
	} {
		c, err := Parse([]byte(app(v)), Serve, env(nil))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if got := *c.Apps[0].InboundTopic; got != want {
			t.Errorf("%s: %+v, want %+v", v, got, want)
		}
	}
	for v, want := range map[string]string{
		"yes please":                "inbound_topic is true, false or {enabled, topic}",
		"{enabled: true, topik: x}": "field topik not found in inbound_topic",
		"[true]":                    "cannot unmarshal",
	} {
		_, err := Parse([]byte(app(v)), Serve, env(nil))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", v, err, want)
		}
	}
}

// SPEC's section 11 app has no Pusher key and secret: an app for the
// JWT-topic protocol only. Key and secret go together, and webhooks (signed
// with the secret) need them.
func TestAppWithoutPusherCredentials(t *testing.T) {
	doc := minimalServe + `
issuers:
  - {name: auth0-api, issuer: https://tenant.eu.auth0.com/, jwks_url: https://tenant.eu.auth0.com/.well-known/jwks.json, algorithms: [RS256], audience: [https://api.example.com]}
apps:
  - id: chat
    auth_key: {issuer: auth0-api}
    grants: token
    inbound_topic: true
`
	c, err := Parse([]byte(doc), Serve, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Apps[0]; a.Key != "" || a.Secret != "" || a.AuthKey == nil {
		t.Fatalf("app %+v", a)
	}
	wantRefused(t, []refusal{
		{"apps: [{id: a, secret: s-0123456789abcdef}]", "apps[0].key: is required with a secret"},
		{"apps: [{id: a, key: k}]", "apps[0].secret: must be at least 16 characters"},
		{"apps: [{id: a, webhooks: [{url: 'https://x/hook'}]}]", "apps[0].webhooks (line 1): are signed with the app's secret"},
		{"apps: [{id: a}, {id: b}, {id: c, key: k, secret: s-0123456789abcdef}, {id: d, key: k, secret: s-0123456789abcdef}]", "apps[3].key (line 1): duplicate"},
	})
}
