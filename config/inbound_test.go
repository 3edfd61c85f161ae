package config

import (
	"strings"
	"testing"
)

// apps[].inbound_topic: a topic name with "/" is accepted; a malformed or
// reserved one is refused by key.
func TestInboundTopicConfig(t *testing.T) {
	const app = "apps: [{id: a, key: k, secret: 0123456789abcdef, inbound_topic: %s}]\n"
	ok := []string{"{enabled: true}", "{enabled: true, topic: secure/inbound}", "{enabled: true, topic: backend.in}", "{enabled: false}"}
	for _, v := range ok {
		cfg, err := Parse([]byte(minimalServe+strings.Replace(app, "%s", v, 1)), Serve, env(nil))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if cfg.Apps[0].InboundTopic == nil {
			t.Fatalf("%s: inbound_topic not read", v)
		}
	}
	bad := []string{"secure//inbound", "/inbound", "inbound/", "in bound", "priv/in", "main", strings.Repeat("a", 201)}
	for _, v := range bad {
		doc := minimalServe + strings.Replace(app, "%s", "{enabled: true, topic: \""+v+"\"}", 1)
		_, err := Parse([]byte(doc), Serve, env(nil))
		if err == nil || !strings.Contains(err.Error(), "apps[0].inbound_topic.topic") {
			t.Fatalf("%q: err = %v, want apps[0].inbound_topic.topic", v, err)
		}
	}
	cfg, err := Parse([]byte(minimalServe+"apps: [{id: a, key: k, secret: 0123456789abcdef}]\n"), Serve, env(nil))
	if err != nil || cfg.Apps[0].InboundTopic != nil {
		t.Fatalf("off by default: %+v %v", cfg.Apps[0].InboundTopic, err)
	}
}
