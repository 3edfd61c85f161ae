package pusher_test

import (
	"strings"
	"testing"

	"gatehouse/realtime/internal/wstest"
)

// A public channel is what the policy lets an anonymous caller read: a name
// it restricts is refused over Pusher, where a subscribe carries no
// credential, and events published there never reach the socket.
func TestPublicSubscribeFollowsThePolicy(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.connect(t, wstest.Options{})
	c.subscribe("restricted-alerts", "")
	f := c.expect("pusher:subscription_error")
	if d := f.dataString(t); f.Channel != "restricted-alerts" || !strings.Contains(d, "AuthError") || !strings.Contains(d, `"status":401`) {
		t.Fatalf("refusal on %q: %s", f.Channel, d)
	}
	e.trigger("restricted-alerts", "secret", "for admins", "")
	c.subscribe("alerts", "")
	c.expect("pusher_internal:subscription_succeeded")
	e.trigger("alerts", "open", "for all", "")
	if f := c.expect("open"); f.Channel != "alerts" {
		t.Fatalf("delivery %+v", f)
	}
}
