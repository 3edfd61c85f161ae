package realtime

import "runtime"

// yieldEvery is how many sockets a background sweep handles between two
// yields.
const yieldEvery = 256

// YieldEvery lets other goroutines run after every yieldEvery-th item of a
// background sweep over all sockets (activity checks): on one core, a
// fan-out that becomes runnable meanwhile then waits for a few hundred
// checks, not for the whole sweep or the scheduler's 10 ms time slice.
func YieldEvery(i int) {
	if i%yieldEvery == yieldEvery-1 {
		runtime.Gosched()
	}
}
