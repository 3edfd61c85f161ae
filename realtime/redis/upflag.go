package redis

import (
	"context"
	"errors"
	"sync"
	"time"
)

// upFlag says whether a background reader is connected, and lets callers
// wait for it (or for the n-th time it came up).
type upFlag struct {
	mu      sync.Mutex
	upCh    chan struct{} // closed while up
	lastErr error
	ups     int           // times it came up
	upsCh   chan struct{} // closed and replaced when ups grows
}

func newUpFlag() upFlag {
	return upFlag{upCh: make(chan struct{}), upsCh: make(chan struct{})}
}

func (f *upFlag) isUp() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.upCh:
		return true
	default:
		return false
	}
}

func (f *upFlag) set(up bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastErr = err
	select {
	case <-f.upCh:
		if !up {
			f.upCh = make(chan struct{})
		}
	default:
		if up {
			close(f.upCh)
			f.ups++
			close(f.upsCh)
			f.upsCh = make(chan struct{})
		}
	}
}

// wait returns once up, or with the last connection error when ctx ends
// first (after 10 s when ctx has no deadline).
func (f *upFlag) wait(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	f.mu.Lock()
	ch := f.upCh
	f.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.lastErr != nil {
			return errors.Join(ctx.Err(), f.lastErr)
		}
		return ctx.Err()
	}
}

// waitUps returns once it came up n times (tests see a reconnection).
func (f *upFlag) waitUps(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		ups, ch := f.ups, f.upsCh
		f.mu.Unlock()
		if ups >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
