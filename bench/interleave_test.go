package bench

import (
	"testing"
	"time"
)

// interleave runs each of fns for every i in [0, b.N), in batches of 100:
// a batch of fns[0], the same batch of fns[1], and so on, so that drift of
// the machine during the run falls on all of them alike. It returns the
// time each took in all; the benchmark's timer is reset first.
func interleave(b *testing.B, fns ...func(i int)) []time.Duration {
	const batch = 100
	took := make([]time.Duration, len(fns))
	b.ResetTimer()
	for start := 0; start < b.N; start += batch {
		end := min(start+batch, b.N)
		for k, fn := range fns {
			t0 := time.Now()
			for i := start; i < end; i++ {
				fn(i)
			}
			took[k] += time.Since(t0)
		}
	}
	return took
}
