package pusher

import (
	"io"
	"net/http"

	"gatehouse/apps"
	"gatehouse/internal/httpx"
	"gatehouse/pusherproto"
)

// authorize checks an HTTP API request for app appID: the app exists, the
// caller's address passes admin_source_address, the body fits 64 KiB, and
// the request signature is valid. It returns the app and the body, or writes
// the error and returns nil.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, appID, clientIP string) (*apps.App, []byte) {
	a := s.apps.ByID(appID)
	if a == nil {
		httpx.WriteError(w, http.StatusNotFound, httpx.CodeInvalidRequest, "unknown app")
		return nil, nil
	}
	if !a.Pusher() {
		httpx.WriteError(w, http.StatusNotFound, httpx.CodeInvalidRequest, "this app has no Pusher key and secret: it has no Pusher HTTP API")
		return nil, nil
	}
	if !a.AdminAllowed(clientIP) {
		s.log.InfoContext(r.Context(), "pusher: api source address refused", "app", a.ID, "ip", clientIP)
		httpx.WriteError(w, http.StatusUnauthorized, httpx.CodeAccessDenied, "request not authorized")
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, httpx.MaxBodyBytes))
	if err != nil {
		httpx.WriteBodyError(w, err)
		return nil, nil
	}
	if err := pusherproto.VerifyRequest(a.Key, a.Secret, r.Method, r.URL.Path, r.URL.Query(), body, s.cfg.Now()); err != nil {
		s.log.InfoContext(r.Context(), "pusher: api request refused", "app", a.ID, "err", err)
		httpx.WriteError(w, http.StatusUnauthorized, httpx.CodeAccessDenied, "request not authorized")
		return nil, nil
	}
	return a, body
}
