package topics_test

import (
	"net/http"
	"strings"
	"testing"

	"gatehouse/realtime"
	"gatehouse/realtime/internal/wstest"
	"gatehouse/realtime/topics"
)

// A sustained flood of frames closes the connection with 1013 (try again
// later), after which the client backs off.
func TestFrameFloodClosesWith1013(t *testing.T) {
	e := newEnv(t, envOpts{limits: realtime.Limits{FramesPerSecond: 1, FrameBurst: 5}})
	c := e.user(t, "flooder", sub("*"))
	// The clock stands still: the burst is all there is.
	for range 20 {
		c.send("unsubscribe", map[string]any{"topic": "nothing", "id": "x"})
	}
	code, _, before := c.ExpectClose(t)
	if code != topics.CodeTryAgain {
		t.Fatalf("close %d after %q", code, before)
	}
	if len(before) > 5 {
		t.Fatalf("%d frames answered past a burst of 5", len(before))
	}
	if n := e.hub.RefusedCount(realtime.RefusedFrameFlood); n != 1 {
		t.Fatalf("refusals counted %d", n)
	}
}

// The per-address cap refuses the handshake with 429 before any upgrade.
func TestConnectionsPerAddressTopics(t *testing.T) {
	e := newEnv(t, envOpts{limits: realtime.Limits{ConnectionsPerIP: 1}})
	e.user(t, "first", sub("*"))
	_, err := wstest.DialErr(e.wsURL(e.mint("second", "", 3600e9, sub("*"))), wstest.Options{})
	if err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("second connection from one address: %v", err)
	}
	res, err := http.Get(strings.Replace(e.wsURL(e.mint("third", "", 3600e9, sub("*"))), "ws", "http", 1))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("plain GET over the cap: %d %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
}
