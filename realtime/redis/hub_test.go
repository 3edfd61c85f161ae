package redis

import (
	"testing"

	"gatehouse/realtime"
	"gatehouse/realtime/backplanetest"
)

// Two realtime.Hubs, each on its own Backplane to one Redis: two nodes as in
// production, through the suite every backplane passes.
func TestHubsAcrossNodes(t *testing.T) {
	backplanetest.RunHubs(t, func(t *testing.T) (realtime.Backplane, realtime.Backplane) {
		a := newTest(t, testConfig(shared(t), "a"))
		return a, peer(t, a, "b", nil)
	})
}
