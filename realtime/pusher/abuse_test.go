package pusher_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"gatehouse/realtime"
	"gatehouse/realtime/internal/wstest"
)

// One socket subscribing to channel after channel is refused past the
// per-connection cap with pusher:subscription_error; it keeps what it has.
func TestChannelCapRefusesSubscriptions(t *testing.T) {
	e := newEnv(t, envOpts{limits: realtime.Limits{ChannelsPerConnection: 3}})
	c := e.connect(t, wstest.Options{})
	for i := range 3 {
		c.subscribe(fmt.Sprintf("public-%d", i), "")
		c.expect("pusher_internal:subscription_succeeded")
	}
	c.subscribe("public-3", "")
	f := c.expect("pusher:subscription_error")
	if d := f.dataString(t); f.Channel != "public-3" || !strings.Contains(d, "LimitReachedError") || !strings.Contains(d, `"status":4100`) {
		t.Fatalf("refusal on %q: %s", f.Channel, d)
	}
	if n := e.hub.RefusedCount(realtime.RefusedChannelCap); n != 1 {
		t.Fatalf("refusals counted %d", n)
	}
	// The socket still works and still receives on what it holds.
	e.trigger("public-1", "ev", "still here", "")
	if f := c.expect("ev"); f.Channel != "public-1" {
		t.Fatalf("delivery %+v", f)
	}
}

// A sustained flood of frames closes the socket with 4100 (back off).
func TestFrameFloodClosesWith4100(t *testing.T) {
	e := newEnv(t, envOpts{limits: realtime.Limits{FramesPerSecond: 1, FrameBurst: 5}})
	c := e.connect(t, wstest.Options{})
	for range 20 {
		c.send("pusher:ping", "", map[string]any{})
	}
	code, _, before := c.ExpectClose(t)
	if code != 4100 {
		t.Fatalf("close %d after %q", code, before)
	}
	if last := before[len(before)-1]; !strings.Contains(last, `"code":4100`) {
		t.Fatalf("last frame %q", last)
	}
	if len(before) > 5+1 {
		t.Fatalf("%d frames answered past a burst of 5", len(before)-1)
	}
	if n := e.hub.RefusedCount(realtime.RefusedFrameFlood); n != 1 {
		t.Fatalf("refusals counted %d", n)
	}
}

// The opt-in per-address cap refuses a further socket with 4100 and frees
// the place when one closes.
func TestConnectionsPerAddress(t *testing.T) {
	e := newEnv(t, envOpts{limits: realtime.Limits{ConnectionsPerIP: 2}})
	from := func(ip string) wstest.Options { return wstest.Options{Header: http.Header{"X-Test-Client-IP": {ip}}} }
	a := e.connect(t, from("192.0.2.7"))
	e.connect(t, from("192.0.2.7"))
	over := wstest.Dial(t, e.wsURL(appKey), from("192.0.2.7"))
	if code, _, before := over.ExpectClose(t); code != 4100 || len(before) != 1 || !strings.Contains(before[0], "Too many connections") {
		t.Fatalf("third socket: %d %q", code, before)
	}
	e.connect(t, from("192.0.2.8")) // another address is not counted
	a.Close()
	// The place frees once the server has handled a's close.
	deadline := time.Now().Add(wstest.Wait)
	for e.hub.Len() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("a's close not handled: %d sockets", e.hub.Len())
		}
		runtime.Gosched()
	}
	e.connect(t, from("192.0.2.7"))
}

// V5: one address cannot fill a presence channel with anonymous members;
// a leaving member frees its place; named members are not counted.
func TestAnonymousPresencePerAddress(t *testing.T) {
	e := newEnv(t, envOpts{limits: realtime.Limits{AnonymousPresencePerIP: 2}})
	from := func(ip string) wstest.Options { return wstest.Options{Header: http.Header{"X-Test-Client-IP": {ip}}} }
	join := func(c *client, user string) frame {
		t.Helper()
		data := `{"user_id":"` + user + `"}`
		c.subscribe("presence-lobby", data)
		for {
			f := c.next()
			if f.Event == "pusher_internal:subscription_succeeded" || f.Event == "pusher:subscription_error" {
				return f
			}
		}
	}
	var first *client
	for i := range 2 {
		c := e.connect(t, from("198.51.100.4"))
		if f := join(c, fmt.Sprintf("anon:%d", i)); f.Event != "pusher_internal:subscription_succeeded" {
			t.Fatalf("anonymous member %d: %s", i, f.Data)
		}
		if first == nil {
			first = c
		}
	}
	third := e.connect(t, from("198.51.100.4"))
	f := join(third, "anon:2")
	if d := f.dataString(t); f.Event != "pusher:subscription_error" || !strings.Contains(d, "anonymous members") {
		t.Fatalf("third anonymous member from one address: %s %s", f.Event, d)
	}
	// Named users and other addresses are not counted.
	if f := join(e.connect(t, from("198.51.100.4")), "ada"); f.Event != "pusher_internal:subscription_succeeded" {
		t.Fatalf("named member: %s", f.Data)
	}
	if f := join(e.connect(t, from("198.51.100.5")), "anon:9"); f.Event != "pusher_internal:subscription_succeeded" {
		t.Fatalf("another address: %s", f.Data)
	}
	// A member leaving frees its place.
	first.send("pusher:unsubscribe", "", map[string]string{"channel": "presence-lobby"})
	first.send("pusher:ping", "", map[string]any{})
	for f := first.next(); f.Event != "pusher:pong"; f = first.next() {
	}
	if f := join(third, "anon:2"); f.Event != "pusher_internal:subscription_succeeded" {
		t.Fatalf("after one left: %s", f.Data)
	}
	if n := e.hub.RefusedCount(realtime.RefusedAnonymousPresence); n != 1 {
		t.Fatalf("refusals counted %d", n)
	}
}
