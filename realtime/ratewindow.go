package realtime

import "time"

// RateWindow bounds what one connection sends per wall-clock second (client
// events, publishes). The zero value is ready; it is not safe for
// concurrent use (a connection's frames are handled one at a time).
type RateWindow struct {
	sec int64 // the second the count is for
	n   int
}

// Allow counts one more frame at now and reports whether it is within max
// for its second.
func (w *RateWindow) Allow(now time.Time, max int) bool {
	if sec := now.Unix(); sec != w.sec {
		w.sec, w.n = sec, 0
	}
	w.n++
	return w.n <= max
}
