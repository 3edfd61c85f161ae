package realtime

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// On one core, a goroutine that becomes runnable during a sweep runs
// within the next yieldEvery items, not after the whole sweep.
func TestYieldEveryLetsOthersRun(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	const items = 10 * yieldEvery
	var ran atomic.Bool
	seenAt := -1
	go func() { ran.Store(true) }()
	for i := 0; i < items; i++ {
		YieldEvery(i)
		if seenAt < 0 && ran.Load() {
			seenAt = i
		}
	}
	if seenAt < 0 || seenAt >= yieldEvery {
		t.Fatalf("the other goroutine ran at item %d of %d (-1: after the sweep), want before item %d", seenAt, items, yieldEvery)
	}
}
