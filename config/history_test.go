package config

import (
	"strings"
	"testing"
	"time"
)

// SPEC's section 13 example: realtime.history with a list of channels and
// last. Every app that writes no history of its own has those rules; one
// that writes its own has exactly it (an empty list keeps nothing).
func TestHistorySpecFormAndInheritance(t *testing.T) {
	doc := `
realtime:
  history:
    - {channels: ["presence-lobby", "chat-*"], last: 50, ttl: 24h}
apps:
  - {id: a, key: ka, secret: sa-0123456789abcdef}
  - {id: b, key: kb, secret: sb-0123456789abcdef, history: [{channels: news-*, last: 5}]}
  - {id: c, key: kc, secret: sc-0123456789abcdef, history: []}
`
	c, err := Parse([]byte(doc), Dev, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Apps[0].History
	if len(a) != 1 || strings.Join(a[0].Channels, ",") != "presence-lobby,chat-*" || a[0].Kept() != 50 || a[0].TTL != 24*time.Hour {
		t.Fatalf("app a inherits realtime.history: %+v", a)
	}
	if b := c.Apps[1].History; len(b) != 1 || strings.Join(b[0].Channels, ",") != "news-*" || b[0].Kept() != 5 {
		t.Fatalf("app b keeps exactly its own: %+v", b)
	}
	if h := c.Apps[2].History; len(h) != 0 {
		t.Fatalf("app c wrote history: [] and keeps nothing: %+v", h)
	}
}

// limit is last under its earlier name.
func TestHistoryLimitIsLast(t *testing.T) {
	c, err := Parse([]byte(`apps: [{id: a, key: k, secret: s-0123456789abcdef, history: [{channels: chat-*, limit: 3}]}]`), Dev, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Apps[0].History[0].Kept(); got != 3 {
		t.Fatalf("kept %d, want 3", got)
	}
}

func TestHistoryRefusals(t *testing.T) {
	wantRefused(t, []refusal{
		{"realtime: {history: [{channels: [chat-*]}]}", "realtime.history[0].last: is required"},
		{"realtime: {history: [{channels: [chat-*], last: 5000}]}", "realtime.history[0].last (line 1): 5000 is outside [1, 1000]"},
		{"realtime: {history: [{channels: [chat-*], last: 5, limit: 6}]}", "realtime.history[0].last (line 1): and limit say different counts"},
		{"realtime: {history: [{last: 5}]}", "realtime.history[0].channels: at least one"},
		{"realtime: {history: [{channels: [ok-*, 'bad {x}'], last: 5}]}", "realtime.history[0].channels[1] (line 1)"},
		{"realtime: {history: [{channels: chat-*, last: 5, ttl: -1s}]}", "realtime.history[0].ttl (line 1)"},
		{"apps: [{id: a, key: k, secret: s-0123456789abcdef, history: [{channels: chat-*, limit: 0}]}]", "apps[0].history[0].last: is required"},
		{"apps: [{id: a, key: k, secret: s-0123456789abcdef, history: [{channels: chat-*, limit: 2000}]}]", "apps[0].history[0].limit (line 1): 2000 is outside"},
	})
}
