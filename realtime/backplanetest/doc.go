// Package backplanetest is the conformance suite of realtime.Backplane. Every
// implementation runs the same suite from its own tests:
//
//	func TestConformance(t *testing.T) {
//		backplanetest.Run(t, func(t *testing.T) realtime.Backplane { return newBackplane(t) })
//	}
//
// The factory must return a fresh, empty backplane each time (for a shared
// server, a fresh key prefix or database). The suite treats one backplane
// value as one cluster and uses distinct node names to play several nodes;
// delivery may be asynchronous, and the suite waits for it with a deadline.
package backplanetest
