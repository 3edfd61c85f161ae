package realtime_test

import (
	"testing"
	"time"

	"gatehouse/realtime"
)

func TestRateWindow(t *testing.T) {
	var w realtime.RateWindow
	t0 := time.Unix(100, 0)
	for i, want := range []bool{true, true, false, false} {
		if got := w.Allow(t0.Add(time.Duration(i)*time.Millisecond), 2); got != want {
			t.Fatalf("frame %d: %v", i, got)
		}
	}
	if !w.Allow(t0.Add(time.Second), 2) {
		t.Fatal("a new second starts a new count")
	}
}
