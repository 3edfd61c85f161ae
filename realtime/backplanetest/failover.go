package backplanetest

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"gatehouse/realtime"
)

// FailoverNodes returns two backplanes of one deployment (a publishing node
// and a subscribing one) and a function that makes the store they share
// fail over (a Redis primary replaced by its replica), returning once the
// new primary serves.
type FailoverNodes func(t *testing.T) (pub, sub realtime.Backplane, failover func(ctx context.Context) error)

// failoverPace is how often the suite publishes while a store fails over.
const failoverPace = 2 * time.Millisecond

// RunFailover publishes on pub at a steady pace while the store fails over
// and checks what a socket that stays connected to sub sees: every publish
// that was accepted arrives exactly once and in publishing order, anything
// else that arrives is a publish that was refused (an error to its
// caller), and the node does not resync.
func RunFailover(t *testing.T, newNodes FailoverNodes) {
	pub, sub, failover := newNodes(t)
	Watch(t, sub, Chat)

	// Everything sub delivers is collected as it comes, so delivery never
	// waits on the test.
	var mu sync.Mutex
	var arrived []realtime.Envelope
	more := make(chan struct{}, 1)
	stopSub, err := sub.Subscribe(context.Background(), func(env realtime.Envelope) {
		mu.Lock()
		arrived = append(arrived, env)
		mu.Unlock()
		select {
		case more <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(stopSub)
	waitArrived := func(ok func([]realtime.Envelope) bool, what string) {
		t.Helper()
		deadline := time.After(time.Minute)
		for {
			mu.Lock()
			done := ok(arrived)
			mu.Unlock()
			if done {
				return
			}
			select {
			case <-more:
			case <-deadline:
				t.Fatalf("waiting for %s", what)
			}
		}
	}

	var pmu sync.Mutex
	var order []int // accepted, in publishing order
	accepted := map[int]bool{}
	refused, acceptedAfter := 0, 0
	failedOver := false
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(failoverPace)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err := pub.Publish(ctx, msg(i))
			cancel()
			pmu.Lock()
			if err == nil {
				accepted[i] = true
				order = append(order, i)
				if failedOver {
					acceptedAfter++
				}
			} else {
				refused++
			}
			pmu.Unlock()
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	}()

	// Events flow first, then the store fails over while they go on, then
	// 100 more are accepted.
	waitArrived(func(a []realtime.Envelope) bool { return len(a) >= 50 }, "50 events before the failover")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := failover(ctx); err != nil {
		t.Fatalf("failover: %v", err)
	}
	pmu.Lock()
	failedOver = true
	pmu.Unlock()
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; n < 100; {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("fewer than 100 publishes accepted within a minute of the failover")
		}
		pmu.Lock()
		n = acceptedAfter
		pmu.Unlock()
	}
	tick.Stop()
	close(stop)
	<-done

	waitArrived(func(a []realtime.Envelope) bool {
		seen := map[int]bool{}
		for _, env := range a {
			if i, err := strconv.Atoi(env.Message.Data); err == nil {
				seen[i] = true
			}
		}
		for _, i := range order {
			if !seen[i] {
				return false
			}
		}
		return true
	}, "every accepted event")

	mu.Lock()
	defer mu.Unlock()
	seen := map[int]bool{}
	last, refusedArrived := -1, 0
	for _, env := range arrived {
		if env.Kind == realtime.KindResync {
			t.Fatalf("the node resynced across the failover")
		}
		i, err := strconv.Atoi(env.Message.Data)
		if err != nil {
			t.Fatalf("envelope %+v", env)
		}
		if seen[i] {
			t.Fatalf("event %d arrived twice", i)
		}
		seen[i] = true
		if i < last {
			t.Fatalf("event %d arrived after %d", i, last)
		}
		last = i
		if !accepted[i] {
			refusedArrived++ // not undone: refused means not guaranteed
		}
	}
	t.Logf("%d accepted and delivered once, in order; %d refused during the failover, %d of which arrived anyway",
		len(order), refused, refusedArrived)
}
