package topics

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"gatehouse/authn"
	"gatehouse/internal/httpx"
	"gatehouse/policy"
	"gatehouse/realtime"
	"gatehouse/realtime/wsconn"
)

// ServeWebSocket serves GET /apps/{id}: it checks the access token, upgrades
// the request and runs a JWT-topic session for app appID. clientIP is the
// caller's address as resolved by the router (trusted proxies applied).
//
// The token comes from the access_token query parameter, which is how
// realtime-pubsub-client sends it, or else from an Authorization: Bearer
// header. Refusals happen before the upgrade, as JSON errors: 404 for an
// unknown app, 401 for a missing, invalid, expired or revoked token, 429
// when the caller's address holds its connection cap, 503 over capacity.
func (s *Server) ServeWebSocket(w http.ResponseWriter, r *http.Request, appID, clientIP string) {
	ctx := r.Context()
	if s.cfg.Apps.ByID(appID) == nil {
		httpx.WriteError(w, http.StatusNotFound, httpx.CodeInvalidRequest, "unknown app")
		return
	}
	tok, err := s.checkToken(ctx, appID, authn.AuthKey, bearer(r, true))
	if err != nil {
		s.log.InfoContext(ctx, "topics: connection refused", "app", appID, "ip", clientIP, "err", err)
		unauthorized(w)
		return
	}
	if s.hub.Len() >= s.hub.Limits().MaxConnections {
		httpx.WriteError(w, http.StatusServiceUnavailable, httpx.CodeServerError, "over capacity, try again later")
		return
	}
	release, err := s.hub.AdmitAddress(clientIP)
	if err != nil {
		s.log.InfoContext(ctx, "topics: address over its connection cap", "app", appID, "ip", clientIP)
		w.Header().Set("Retry-After", "10")
		httpx.WriteError(w, http.StatusTooManyRequests, httpx.CodeRateLimited, "too many connections from this address")
		return
	}
	c, err := s.tr.Upgrade(w, r)
	if err != nil {
		release()
		s.log.DebugContext(ctx, "topics: upgrade failed", "err", err)
		return
	}
	ss := &session{srv: s, app: appID, id: newConnID(s.hub), ws: c, codec: codecs.For(c.Compressed()),
		frames: s.hub.NewFrameBucket(), release: release}
	if err := s.hub.Register(ss, appID); err != nil {
		release()
		s.refuse(c, CodeTryAgain, "over capacity")
		return
	}
	if err := s.hub.Bind(ss, tok.sid, tok.sub); err != nil {
		s.hub.Unregister(context.Background(), ss)
		release()
		code, msg := CodeTryAgain, "server unavailable"
		if errors.Is(err, realtime.ErrRevoked) {
			code, msg = CodeRevoked, realtime.ReasonRevoked.String()
		}
		s.refuse(c, code, msg)
		return
	}
	s.track(ss, true)
	c.SendText(welcomeJSON(ss.id, appID, clientIP, tok.grants.Permissions()))
	ss.setToken(tok)
	s.tr.Serve(c, ss)
}

// newConnID returns the hub's fresh connection id with its dot replaced:
// the client builds event names by joining topic and message type with
// dots, and a reply topic priv/<connectionId> must stay one segment.
func newConnID(h *realtime.Hub) string {
	return strings.ReplaceAll(h.NewConnID(), ".", "-")
}

// bearer returns the request's access token: the access_token query
// parameter (when query is true), else an Authorization: Bearer header.
func bearer(r *http.Request, query bool) string {
	if query {
		if t := r.URL.Query().Get("access_token"); t != "" {
			return t
		}
	}
	tok, _ := authn.BearerToken(r.Header.Values("Authorization"))
	return tok
}

// Token errors of this package; verification errors come from the
// TokenVerifier.
var (
	errNoToken = errors.New("topics: no access token")
	errExpired = errors.New("topics: token expired")
)

// token is what a connection keeps of its access token.
type token struct {
	sub    string
	sid    string
	grants policy.Grants
	exp    int64 // Unix nanoseconds
}

// checkToken verifies raw and refuses a token already past its exp by the
// server's clock: a connection never outlives its token.
func (s *Server) checkToken(ctx context.Context, appID string, use authn.KeyUse, raw string) (token, error) {
	if raw == "" {
		return token{}, errNoToken
	}
	c, err := s.verify.AppToken(ctx, appID, use, raw)
	if err != nil {
		return token{}, err
	}
	if c.ExpiresAt.IsZero() || !s.cfg.Clock.Now().Before(c.ExpiresAt) {
		return token{}, errExpired
	}
	return token{sub: c.Identity.Subject, sid: c.Identity.SessionID, grants: c.Grants, exp: c.ExpiresAt.UnixNano()}, nil
}

// unauthorized answers a refused credential without saying which check
// failed.
func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	httpx.WriteError(w, http.StatusUnauthorized, httpx.CodeInvalidToken, "the access token is missing, invalid, expired or revoked")
}

// refuse closes a socket that was upgraded but cannot be served.
func (s *Server) refuse(c *wsconn.Conn, code int, msg string) {
	c.Close(code, msg)
	s.tr.Serve(c, nopHandler{}) // read until the close handshake ends
}

type nopHandler struct{}

func (nopHandler) OnMessage(*wsconn.Conn, []byte) {}
func (nopHandler) OnClose(*wsconn.Conn, error)    {}
