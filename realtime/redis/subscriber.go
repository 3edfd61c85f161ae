package redis

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// subscriber keeps one pub/sub connection subscribed to a fixed set of
// channels, reading it from one goroutine so that messages are handed on in
// the order Redis sent them. When the connection is lost it dials again,
// with backoff, until its context ends; every time Redis confirmed all the
// channels it calls up (first is true the first time only) before handing
// on any later message.
type subscriber struct {
	rdb       goredis.UniversalClient
	channels  []string
	heartbeat time.Duration
	log       *slog.Logger
	onMessage func(channel, payload string)
	up        func(ctx context.Context, first bool)
	fail      func(ctx context.Context, msg string, err error)

	// state says whether the channels are subscribed (ups counts the
	// confirmed subscriptions).
	state upFlag
}

func newSubscriber(rdb goredis.UniversalClient, channels []string, heartbeat time.Duration, log *slog.Logger,
	onMessage func(channel, payload string), up func(context.Context, bool), fail func(context.Context, string, error)) *subscriber {
	return &subscriber{rdb: rdb, channels: channels, heartbeat: heartbeat, log: log,
		onMessage: onMessage, up: up, fail: fail, state: newUpFlag()}
}

func (s *subscriber) isUp() bool { return s.state.isUp() }

// waitUp returns once the channels are subscribed, or with the last
// connection error when ctx ends first (after 10 s when ctx has no deadline).
func (s *subscriber) waitUp(ctx context.Context) error { return s.state.wait(ctx) }

func (s *subscriber) setUp(up bool, err error) { s.state.set(up, err) }

// waitUps returns once the subscription was confirmed n times (tests see a
// reconnection through it).
func (s *subscriber) waitUps(ctx context.Context, n int) error { return s.state.waitUps(ctx, n) }

func (s *subscriber) run(ctx context.Context) {
	const minBackoff, maxBackoff = 50 * time.Millisecond, time.Second
	backoff := minBackoff
	first := true
	for ctx.Err() == nil {
		confirmed, err := s.session(ctx, first)
		s.setUp(false, err)
		if ctx.Err() != nil {
			return
		}
		if confirmed {
			first = false
			backoff = minBackoff
		}
		s.fail(ctx, "pub/sub connection lost", err)
		if !waitBackoff(ctx, &backoff, maxBackoff) {
			return
		}
	}
}

// session subscribes on a fresh connection and reads it until it fails.
// confirmed reports whether the subscription was confirmed.
func (s *subscriber) session(ctx context.Context, first bool) (confirmed bool, err error) {
	ps := s.rdb.Subscribe(ctx)
	defer ps.Close()
	// Closing the connection ends a read in progress when ctx ends.
	defer context.AfterFunc(ctx, func() { _ = ps.Close() })()
	if err := ps.Subscribe(ctx, s.channels...); err != nil {
		return false, err
	}
	for n := 0; n < len(s.channels); {
		msg, err := ps.ReceiveTimeout(ctx, deadAfter*s.heartbeat)
		if err != nil {
			return false, err
		}
		switch m := msg.(type) {
		case *goredis.Subscription:
			n++
		case *goredis.Message:
			s.onMessage(m.Channel, m.Payload)
		}
	}
	s.up(ctx, first)
	s.setUp(true, nil)
	// A silent connection is pinged once a heartbeat; no answer within the
	// next one means it is dead (a half-open TCP connection never errors).
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.heartbeat)
		if err != nil {
			var ne net.Error
			if !pinged && errors.As(err, &ne) && ne.Timeout() {
				pinged = true
				if err := ps.Ping(ctx); err != nil {
					return true, err
				}
				continue
			}
			return true, err
		}
		pinged = false
		if m, ok := msg.(*goredis.Message); ok {
			s.onMessage(m.Channel, m.Payload)
		}
	}
}

// waitBackoff waits *backoff (false: ctx ended first) and doubles it, up to
// most.
func waitBackoff(ctx context.Context, backoff *time.Duration, most time.Duration) bool {
	t := time.NewTimer(*backoff)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	*backoff = min(2**backoff, most)
	return true
}
