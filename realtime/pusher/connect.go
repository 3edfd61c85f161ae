package pusher

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"gatehouse/realtime"
	"gatehouse/realtime/wsconn"
)

// ServeWebSocket serves GET /app/{key}: it upgrades the request and runs a
// Pusher protocol 7 session. clientIP is the caller's address as resolved by
// the router (trusted proxies applied). Refusals happen after the upgrade,
// as pusher:error plus a close code, because that is what pusher-js reads:
// 4001 unknown app key, 4007 unsupported protocol, 4009 source address
// refused, 4100 over capacity (the process, or this address's cap).
func (s *Server) ServeWebSocket(w http.ResponseWriter, r *http.Request, appKey, clientIP string) {
	c, err := s.tr.Upgrade(w, r)
	if err != nil {
		s.log.DebugContext(r.Context(), "pusher: upgrade failed", "err", err)
		return
	}
	a := s.apps.ByKey(appKey)
	switch {
	case a == nil:
		s.refuse(c, CodeAppNotFound, "App key "+appKey+" not in this cluster")
		return
	case !protocolSupported(r.URL.Query().Get("protocol")):
		s.refuse(c, CodeProtocolVersion, "Unsupported protocol version")
		return
	case !a.ClientAllowed(clientIP):
		s.log.InfoContext(r.Context(), "pusher: source address refused", "app", a.ID, "ip", clientIP)
		s.refuse(c, CodeUnauthorized, "Source address refused")
		return
	}
	release, err := s.hub.AdmitAddress(clientIP)
	if err != nil {
		s.log.InfoContext(r.Context(), "pusher: address over its connection cap", "app", a.ID, "ip", clientIP)
		s.refuse(c, CodeOverCapacity, "Too many connections from this address")
		return
	}
	ss := &session{srv: s, app: a, id: s.hub.NewConnID(), ws: c, codec: codecs.For(c.Compressed()),
		frames: s.hub.NewFrameBucket(), release: release, ip: clientIP}
	if err := s.hub.Register(ss, a.ID); err != nil {
		release()
		if errors.Is(err, realtime.ErrOverCapacity) {
			s.refuse(c, CodeOverCapacity, "Over capacity")
		} else {
			s.refuse(c, CodeReconnect, "Server unavailable")
		}
		return
	}
	s.track(ss, true)
	data := `{"socket_id":"` + ss.id + `","activity_timeout":` + strconv.Itoa(int(s.cfg.ActivityTimeout.Seconds())) + `}`
	c.SendText(eventJSON("pusher:connection_established", "", data))
	s.tr.Serve(c, ss)
}

// protocolSupported accepts protocol 5 to 7, and a missing parameter.
func protocolSupported(v string) bool {
	if v == "" {
		return true
	}
	n, err := strconv.Atoi(v)
	return err == nil && n >= 5 && n <= 7
}

func (s *Server) refuse(c *wsconn.Conn, code int, msg string) {
	c.SendText(errorJSON(code, msg))
	c.Close(code, msg)
	s.tr.Serve(c, nopHandler{}) // read until the close handshake ends
}

type nopHandler struct{}

func (nopHandler) OnMessage(*wsconn.Conn, []byte) {}
func (nopHandler) OnClose(*wsconn.Conn, error)    {}

var _ realtime.Conn = (*session)(nil)

// OnClose unregisters the session from the hub.
func (ss *session) OnClose(c *wsconn.Conn, err error) {
	ss.srv.track(ss, false)
	ss.srv.hub.Unregister(context.Background(), ss)
	ss.release()
	ss.releaseAnonPresence("")
}
