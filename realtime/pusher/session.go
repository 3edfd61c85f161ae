package pusher

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse/apps"
	"gatehouse/realtime"
	"gatehouse/realtime/wsconn"
)

// session is one Pusher socket. Fields below ws are owned by the socket's
// reading goroutine, which handles one frame at a time.
type session struct {
	srv   *Server
	app   *apps.App
	id    string
	ws    *wsconn.Conn
	codec *realtime.Codec

	pingedAt atomic.Int64 // unix nanos of an unanswered server ping, 0 if none

	user     string               // signed-in user id
	presence map[string]string    // presence channel -> own user id
	rate     realtime.RateWindow  // client events per second
	frames   realtime.FrameBucket // every inbound frame
	release  func()               // frees this socket's share of its address's cap
	ip       string               // the client's address, as the router resolved it
	// anonPresence frees, per presence channel, this socket's anonymous
	// member's place in its address's share. anonMu guards it: OnClose may
	// run beside a frame still being handled.
	anonMu       sync.Mutex
	anonPresence map[string]func()
}

// keepAnonPresence records the release of ch's anonymous place.
func (ss *session) keepAnonPresence(ch string, release func()) {
	ss.anonMu.Lock()
	defer ss.anonMu.Unlock()
	if ss.anonPresence == nil {
		ss.anonPresence = make(map[string]func())
	}
	if old := ss.anonPresence[ch]; old != nil {
		old()
	}
	ss.anonPresence[ch] = release
}

// releaseAnonPresence frees ch's anonymous place, or every one with "".
func (ss *session) releaseAnonPresence(ch string) {
	ss.anonMu.Lock()
	defer ss.anonMu.Unlock()
	for c, release := range ss.anonPresence {
		if ch == "" || c == ch {
			release()
			delete(ss.anonPresence, c)
		}
	}
}

// ID returns the socket id.
func (ss *session) ID() string { return ss.id }

// Deliver queues a hub event, encoded once per fan-out for every socket that
// shares this socket's codec.
func (ss *session) Deliver(ev *realtime.Event) {
	if f := ev.Encode(ss.codec); f != nil {
		ss.ws.Send(f)
	}
}

// Disconnect closes the socket with the Pusher code for reason.
func (ss *session) Disconnect(reason realtime.Reason) {
	code, msg := CodeReconnect, "Reconnect"
	switch reason {
	case realtime.ReasonRevoked:
		code, msg = CodeUnauthorized, "Session revoked"
	case realtime.ReasonTerminated:
		code, msg = CodeUnauthorized, "Connections terminated"
	case realtime.ReasonShutdown:
		msg = "Server shutting down, reconnect"
	case realtime.ReasonSlow:
		msg = "Client too slow, reconnect"
	case realtime.ReasonResync:
		msg = "Events may have been missed, reconnect"
	}
	ss.ws.SendText(errorJSON(code, msg))
	ss.ws.Close(code, msg)
}

// checkActivity pings a client idle for the activity timeout and closes one
// that did not answer within the pong timeout (4201).
func (ss *session) checkActivity(now time.Time) {
	last := ss.ws.LastRead()
	pinged := ss.pingedAt.Load()
	if pinged != 0 {
		if last.UnixNano() >= pinged {
			ss.pingedAt.Store(0)
			return
		}
		if now.Sub(time.Unix(0, pinged)) >= ss.srv.cfg.PongTimeout {
			ss.ws.SendText(errorJSON(CodePongNotReceived, "Pong reply not received"))
			ss.ws.Close(CodePongNotReceived, "Pong reply not received")
		}
		return
	}
	if now.Sub(last) >= ss.srv.cfg.ActivityTimeout {
		ss.pingedAt.Store(now.UnixNano())
		ss.ws.SendText([]byte(`{"event":"pusher:ping","data":"{}"}`))
	}
}

// clientFrame is a frame sent by a Pusher client.
type clientFrame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

// parseFrame decodes a client frame; it reports false for anything that is
// not a JSON object with a string event.
func parseFrame(p []byte) (clientFrame, bool) {
	var f clientFrame
	if err := json.Unmarshal(p, &f); err != nil || f.Event == "" {
		return f, false
	}
	return f, true
}

// dataObject returns the frame's data as an object's JSON, unwrapping data
// sent as a JSON string.
func dataObject(raw json.RawMessage) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return []byte(s)
		}
	}
	return raw
}

// dataString returns the frame's data as the string Pusher clients see: a
// JSON string is unquoted, anything else is kept as its JSON text, byte for
// byte.
func dataString(raw json.RawMessage) string {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

// OnMessage handles one client frame.
func (ss *session) OnMessage(c *wsconn.Conn, p []byte) {
	ss.pingedAt.Store(0)
	if !ss.frames.Allow(ss.srv.cfg.Now()) {
		// A sustained flood: back off (pusher-js reconnects after a delay).
		ss.srv.hub.Refused(realtime.RefusedFrameFlood)
		ss.ws.SendText(errorJSON(CodeOverCapacity, "Too many messages, back off"))
		ss.ws.Close(CodeOverCapacity, "Too many messages")
		return
	}
	f, ok := parseFrame(p)
	if !ok {
		ss.sendError(0, "Invalid message format")
		return
	}
	ctx := context.Background()
	switch {
	case f.Event == "pusher:ping":
		ss.ws.SendText([]byte(`{"event":"pusher:pong","data":"{}"}`))
	case f.Event == "pusher:pong":
	case f.Event == "pusher:subscribe":
		ss.subscribe(ctx, dataObject(f.Data))
	case f.Event == "pusher:unsubscribe":
		ss.unsubscribe(ctx, dataObject(f.Data))
	case f.Event == "pusher:signin":
		ss.signin(dataObject(f.Data))
	case strings.HasPrefix(f.Event, "client-"):
		ss.clientEvent(ctx, f)
	case f.Event == EventHistory:
		ss.history(ctx, dataObject(f.Data))
	}
}

func (ss *session) sendError(code int, msg string) {
	ss.ws.SendText(errorJSON(code, msg))
}

func (ss *session) subscriptionError(channel, typ, msg string, status int) {
	data := `{"type":` + string(appendString(nil, typ)) + `,"error":` + string(appendString(nil, msg)) +
		`,"status":` + strconv.Itoa(status) + `}`
	ss.ws.SendText(eventJSON("pusher:subscription_error", channel, data))
}
