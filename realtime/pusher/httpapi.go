package pusher

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"gatehouse/pusherproto"
)

// maxAPIBody is the largest HTTP API request body (SPEC §3).
const maxAPIBody = 64 << 10

// apiError writes the JSON error body of SPEC §3.
func apiError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "server_error", "could not encode the answer")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// authorize checks an HTTP API request for app appID: the app exists, the
// caller's address passes admin_source_address, the body fits 64 KiB, and
// the request signature is valid. It returns the app and the body, or writes
// the error and returns nil.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, appID, clientIP string) (*app, []byte) {
	a := s.byID[appID]
	if a == nil {
		apiError(w, http.StatusNotFound, "invalid_request", "unknown app")
		return nil, nil
	}
	if !a.adminRules.allows(clientIP) {
		s.log.InfoContext(r.Context(), "pusher: api source address refused", "app", a.ID, "ip", clientIP)
		apiError(w, http.StatusUnauthorized, "access_denied", "request not authorized")
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apiError(w, http.StatusRequestEntityTooLarge, "invalid_request", "request body larger than 64 KiB")
			return nil, nil
		}
		apiError(w, http.StatusBadRequest, "invalid_request", "could not read the request body")
		return nil, nil
	}
	if err := pusherproto.VerifyRequest(a.Key, a.Secret, r.Method, r.URL.Path, r.URL.Query(), body, s.cfg.Now()); err != nil {
		s.log.InfoContext(r.Context(), "pusher: api request refused", "app", a.ID, "err", err)
		apiError(w, http.StatusUnauthorized, "access_denied", "request not authorized")
		return nil, nil
	}
	return a, body
}

// Handler serves the whole HTTP API on a ServeMux, for routers that mount a
// subtree: the caller passes a function that gives each request's client IP.
// The WebSocket endpoint is not part of it.
func (s *Server) Handler(clientIP func(*http.Request) string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /apps/{id}/events", func(w http.ResponseWriter, r *http.Request) {
		s.ServeEvents(w, r, r.PathValue("id"), clientIP(r))
	})
	mux.HandleFunc("POST /apps/{id}/batch_events", func(w http.ResponseWriter, r *http.Request) {
		s.ServeBatchEvents(w, r, r.PathValue("id"), clientIP(r))
	})
	mux.HandleFunc("GET /apps/{id}/channels", func(w http.ResponseWriter, r *http.Request) {
		s.ServeChannels(w, r, r.PathValue("id"), clientIP(r))
	})
	mux.HandleFunc("GET /apps/{id}/channels/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.ServeChannel(w, r, r.PathValue("id"), r.PathValue("name"), clientIP(r))
	})
	mux.HandleFunc("GET /apps/{id}/channels/{name}/users", func(w http.ResponseWriter, r *http.Request) {
		s.ServeChannelUsers(w, r, r.PathValue("id"), r.PathValue("name"), clientIP(r))
	})
	mux.HandleFunc("POST /apps/{id}/users/{uid}/terminate_connections", func(w http.ResponseWriter, r *http.Request) {
		s.ServeTerminateUser(w, r, r.PathValue("id"), r.PathValue("uid"), clientIP(r))
	})
	return mux
}
