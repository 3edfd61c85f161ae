package topics

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse/realtime"
	"gatehouse/realtime/wsconn"
)

// session is one topic connection. An idle session holds no goroutine: the
// transport reads it from epoll and its expiry is one Clock timer.
type session struct {
	srv   *Server
	app   string
	id    string
	ws    *wsconn.Conn
	codec *realtime.Codec

	pingedAt atomic.Int64 // unix nanos of an unanswered ping, 0 if none

	// mu guards tok, timer and gen. tok is written only by the reading
	// goroutine (connect, refresh), which may read it without mu.
	mu    sync.Mutex
	tok   token
	timer Timer
	gen   uint64

	// Owned by the reading goroutine, which handles one frame at a time.
	subs   []string             // topics subscribed to
	rate   realtime.RateWindow  // publishes per second
	frames realtime.FrameBucket // every inbound frame
	// release frees this socket's share of its address's connection cap.
	release func()
}

var _ realtime.Conn = (*session)(nil)

// ID returns the connection id.
func (ss *session) ID() string { return ss.id }

// Deliver queues a hub event, encoded once per fan-out for every socket
// sharing this socket's codec.
func (ss *session) Deliver(ev *realtime.Event) {
	if f := ev.Encode(ss.codec); f != nil {
		ss.ws.Send(f)
	}
}

// Disconnect closes the socket with the close code for reason.
func (ss *session) Disconnect(reason realtime.Reason) {
	code := CodeTryAgain
	switch reason {
	case realtime.ReasonRevoked:
		code = CodeRevoked
	case realtime.ReasonTerminated:
		code = CodeTerminated
	case realtime.ReasonShutdown:
		code = CodeGoingAway
	}
	ss.ws.Close(code, reason.String())
}

// OnMessage handles one client frame.
func (ss *session) OnMessage(_ *wsconn.Conn, p []byte) {
	ss.pingedAt.Store(0)
	if !ss.frames.Allow(ss.srv.cfg.Clock.Now()) {
		// A sustained flood: close with "try again later" (1013), after
		// which the client backs off and reconnects.
		ss.srv.hub.Refused(realtime.RefusedFrameFlood)
		ss.ws.Close(CodeTryAgain, "too many messages")
		return
	}
	if ss.expired() {
		return
	}
	f, perr := parseFrame(p)
	if perr != nil {
		ss.sendError(perr)
		return
	}
	ctx := context.Background()
	switch f.Type {
	case typeSubscribe:
		ss.subscribe(ctx, f)
	case typeUnsubscribe:
		ss.unsubscribe(ctx, f)
	case typePublish:
		ss.publish(ctx, f)
	case typeRefresh:
		ss.refresh(ctx, f)
	case typeMessage:
		ss.inbound(ctx, f)
	case typeHistory:
		ss.history(ctx, f)
	}
}

// OnClose stops the expiry timer and unregisters the session from the hub.
func (ss *session) OnClose(_ *wsconn.Conn, _ error) {
	ss.mu.Lock()
	if ss.timer != nil {
		ss.timer.Stop()
	}
	ss.gen++
	ss.mu.Unlock()
	ss.srv.track(ss, false)
	ss.srv.hub.Unregister(context.Background(), ss)
	ss.release()
}

func (ss *session) sendError(e *protoError) {
	ss.ws.SendText(errorJSON(e))
}

func (ss *session) ack(id string) {
	if id != "" {
		ss.ws.SendText(ackJSON(id))
	}
}

// setToken sets the session's token and (re)arms the timer that closes the
// session when it expires, in one step, so the old token's timer cannot
// close a refreshed session.
func (ss *session) setToken(tok token) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.tok = tok
	ss.armExpiryLocked()
}

func (ss *session) armExpiryLocked() {
	if ss.timer != nil {
		ss.timer.Stop()
	}
	ss.gen++
	gen := ss.gen
	d := time.Unix(0, ss.tok.exp).Sub(ss.srv.cfg.Clock.Now())
	ss.timer = ss.srv.cfg.Clock.AfterFunc(d, func() { ss.expire(gen) })
}

// expire closes the session unless a refresh (or the close) came first.
func (ss *session) expire(gen uint64) {
	ss.mu.Lock()
	stale := gen != ss.gen
	ss.mu.Unlock()
	if stale {
		return
	}
	ss.closeExpired()
}

// expired reports, and acts on, a token past its exp that the timer has
// not closed yet: no frame is served under an expired token.
func (ss *session) expired() bool {
	if ss.srv.cfg.Clock.Now().UnixNano() < ss.tok.exp {
		return false
	}
	ss.closeExpired()
	return true
}

func (ss *session) closeExpired() {
	ss.sendError(&protoError{Code: errTokenExpired, Message: "the access token expired"})
	ss.ws.Close(CodeTokenExpired, "token expired")
}

// checkActivity pings a client silent for the ping interval and closes one
// that stayed silent for another.
func (ss *session) checkActivity(now time.Time) {
	last := ss.ws.LastRead()
	every := ss.srv.cfg.PingInterval
	pinged := ss.pingedAt.Load()
	if pinged != 0 {
		if last.UnixNano() >= pinged {
			ss.pingedAt.Store(0)
			return
		}
		if now.Sub(time.Unix(0, pinged)) >= every {
			ss.ws.Close(CodePongTimeout, "pong not received")
		}
		return
	}
	if now.Sub(last) >= every {
		ss.pingedAt.Store(now.UnixNano())
		ss.ws.Send(pingFrame)
	}
}

// pingFrame is an empty WebSocket ping; browsers and Node answer it on
// their own.
var pingFrame = []byte{0x89, 0x00}
