package pusher_test

import (
	"context"
	"strings"
	"testing"

	"gatehouse/realtime"
	"gatehouse/realtime/internal/wstest"
	"gatehouse/realtime/pusher"
)

// A subscriber that never reads is dropped with 4200 while the others keep
// receiving every event, in order.
func TestSlowConsumerDropped(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *pusher.Config) { c.SendQueue = 16 }})
	vacated := make(chan struct{}, 1)
	e.hub.OnLifecycle(func(_ context.Context, ev realtime.Lifecycle) {
		if ev.Kind == realtime.ChannelVacated && ev.Channel == "slow-only" {
			vacated <- struct{}{}
		}
	})
	slow := e.connect(t, wstest.Options{})
	slow.subscribe("feed", "")
	slow.expect("pusher_internal:subscription_succeeded")
	slow.subscribe("slow-only", "")
	slow.expect("pusher_internal:subscription_succeeded")
	fast := e.connect(t, wstest.Options{})
	fast.subscribe("feed", "")
	fast.expect("pusher_internal:subscription_succeeded")

	data := strings.Repeat("z", 8000)
	ctx := context.Background()
	for i := 0; ; i++ {
		if err := e.hub.Publish(ctx, realtime.Message{App: appID, Channel: "feed", Name: "tick", Data: data}); err != nil {
			t.Fatal(err)
		}
		if got := fast.expect("tick").dataString(t); got != data {
			t.Fatal("fast consumer got a damaged event")
		}
		select {
		case <-vacated:
			// The slow socket is gone; the fast one still receives.
			_ = e.hub.Publish(ctx, realtime.Message{App: appID, Channel: "feed", Name: "after", Data: "x"})
			fast.expect("after")
			if n, _ := e.hub.Occupancy(ctx, appID, "feed"); n != 1 {
				t.Fatalf("feed occupancy %d after the drop", n)
			}
			return
		default:
		}
		if i > 20000 {
			t.Fatal("slow consumer never dropped")
		}
	}
}
