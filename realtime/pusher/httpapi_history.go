package pusher

import (
	"net/http"
	"strconv"

	"gatehouse/internal/httpx"
)

// ServeChannelHistory serves GET /apps/{id}/channels/{name}/history on the
// signed HTTP API: the channel's kept events (apps[].history), oldest
// first, at most ?limit= (the rule's limit by default), older than
// ?before= (an event id) when given. A channel no rule covers has none.
func (s *Server) ServeChannelHistory(w http.ResponseWriter, r *http.Request, appID, name, clientIP string) {
	a, _ := s.authorize(w, r, appID, clientIP)
	if a == nil {
		return
	}
	if name == "" || len(name) > 200 {
		httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "invalid channel name")
		return
	}
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "limit must be a positive integer")
			return
		}
		limit = n
	}
	before := q.Get("before")
	if before != "" {
		if _, err := strconv.ParseInt(before, 10, 64); err != nil {
			httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "before must be an event id")
			return
		}
	}
	evs, err := s.hub.History(r.Context(), a.ID, name, limit, before)
	if err != nil {
		httpx.WriteError(w, http.StatusInternalServerError, httpx.CodeServerError, "history unavailable")
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"events": evs})
}
