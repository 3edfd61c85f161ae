package config

import (
	"testing"
)

func TestRedisShapes(t *testing.T) {
	ok := []string{
		"realtime: {backplane: redis, redis: {url: redis://127.0.0.1:6379/0}}",
		"realtime: {backplane: redis, redis: {sentinel: {master: m, addrs: [127.0.0.1:26379]}, wait_replicas: 1}}",
		"realtime: {backplane: redis, redis: {sentinel: {master_name: m, addrs: [127.0.0.1:26379]}}}",
		"realtime: {backplane: redis, redis: {sentinel: {master: m, master_name: m, addrs: [127.0.0.1:26379]}}}",
		"realtime: {backplane: redis, redis: {cluster: {addrs: [127.0.0.1:7000, '[::1]:7001'], password: p}, wait_replicas: 1}}",
	}
	for _, doc := range ok {
		if _, err := Parse([]byte(doc), Dev, env(nil)); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
	wantRefused(t, []refusal{
		{"realtime: {backplane: redis, redis: {url: redis://a:1/0, sentinel: {master_name: m, addrs: [a:1]}}}", "realtime.redis (line 1): give one of url, sentinel and cluster"},
		{"realtime: {backplane: redis, redis: {sentinel: {master_name: m, addrs: [a:1]}, cluster: {addrs: [a:2]}}}", "realtime.redis (line 1): give one of url, sentinel and cluster"},
		{"realtime: {backplane: redis, redis: {cluster: {}}}", "realtime.redis.cluster.addrs: at least one"},
		{"realtime: {backplane: redis, redis: {cluster: {addrs: [a:1, nope]}}}", "realtime.redis.cluster.addrs[1] (line 1)"},
		{"realtime: {backplane: redis, redis: {sentinel: {addrs: [a:1]}}}", "realtime.redis.sentinel.master: is required"},
		{"realtime: {backplane: redis, redis: {sentinel: {master: a, master_name: b, addrs: [a:1]}}}", "realtime.redis.sentinel.master (line 1): and master_name name different primaries"},
		{"realtime: {backplane: redis, redis: {sentinel: {master_name: m, addrs: [nope]}}}", "realtime.redis.sentinel.addrs[0] (line 1)"},
		{"realtime: {backplane: redis, redis: {sentinel: {master_name: m}}}", "realtime.redis.sentinel.addrs: at least one"},
		{"realtime: {backplane: redis, redis: {url: http://x}}", "realtime.redis.url (line 1)"},
		{"realtime: {backplane: redis, redis: {url: redis://a:1/0, shards: 5000}}", "realtime.redis.shards (line 1)"},
		{"realtime: {backplane: redis, redis: {url: redis://a:1/0, wait_replicas: -1}}", "realtime.redis.wait_replicas (line 1)"},
	})
}

// SPEC's sentinel key is master; master_name (go-redis's name) is the
// same. Either reaches the client as the primary's name.
func TestSentinelPrimaryName(t *testing.T) {
	for doc, want := range map[string]string{
		"realtime: {backplane: redis, redis: {sentinel: {master: spec, addrs: [a:1]}}}":       "spec",
		"realtime: {backplane: redis, redis: {sentinel: {master_name: alias, addrs: [a:1]}}}": "alias",
	} {
		c, err := Parse([]byte(doc), Dev, env(nil))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if got := c.Realtime.Redis.Sentinel.Primary(); got != want {
			t.Errorf("%s: primary %q, want %q", doc, got, want)
		}
	}
}
