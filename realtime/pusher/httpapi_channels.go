package pusher

import (
	"gatehouse/apps"
	"gatehouse/internal/httpx"
	"gatehouse/pusherproto"
	"net/http"
	"strings"
)

// ServeChannels serves GET /apps/{id}/channels: occupied channels, filtered
// by filter_by_prefix, with user_count (presence- prefix only) and
// subscription_count when info asks for them.
func (s *Server) ServeChannels(w http.ResponseWriter, r *http.Request, appID, clientIP string) {
	a, _ := s.authorize(w, r, appID, clientIP)
	if a == nil {
		return
	}
	q := r.URL.Query()
	prefix := q.Get("filter_by_prefix")
	info := splitInfo(q.Get("info"))
	if info["user_count"] && !strings.HasPrefix(prefix, pusherproto.PrefixPresence) {
		httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "user_count requires filter_by_prefix=presence-")
		return
	}
	counts, err := s.hub.Channels(r.Context(), a.ID, prefix)
	if err != nil {
		s.log.ErrorContext(r.Context(), "pusher: api channels", "app", a.ID, "err", err)
		httpx.WriteError(w, http.StatusInternalServerError, httpx.CodeServerError, "channels unavailable")
		return
	}
	out := make(map[string]map[string]int, len(counts))
	for name, n := range counts {
		attrs := map[string]int{}
		if info["subscription_count"] {
			attrs["subscription_count"] = n
		}
		if info["user_count"] {
			ms, err := s.hub.Members(r.Context(), a.ID, name)
			if err != nil {
				httpx.WriteError(w, http.StatusInternalServerError, httpx.CodeServerError, "channels unavailable")
				return
			}
			attrs["user_count"] = len(ms)
		}
		out[name] = attrs
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"channels": out})
}

// ServeChannel serves GET /apps/{id}/channels/{name}: occupied, and
// user_count (presence only) and subscription_count when info asks.
func (s *Server) ServeChannel(w http.ResponseWriter, r *http.Request, appID, name, clientIP string) {
	a, _ := s.authorize(w, r, appID, clientIP)
	if a == nil {
		return
	}
	if !validChannel(name) {
		httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "invalid channel name")
		return
	}
	attrs, status, msg := s.channelAttrs(r, a, name, r.URL.Query().Get("info"))
	if status != 0 {
		httpx.WriteError(w, status, httpx.CodeInvalidRequest, msg)
		return
	}
	n, err := s.hub.Occupancy(r.Context(), a.ID, name)
	if err != nil {
		httpx.WriteError(w, http.StatusInternalServerError, httpx.CodeServerError, "channel unavailable")
		return
	}
	attrs["occupied"] = n > 0
	httpx.WriteJSON(w, http.StatusOK, attrs)
}

// channelAttrs computes the info attributes of one channel.
func (s *Server) channelAttrs(r *http.Request, a *apps.App, name, infoParam string) (map[string]any, int, string) {
	info := splitInfo(infoParam)
	attrs := map[string]any{}
	if info["user_count"] {
		if !isPresence(name) {
			return nil, http.StatusBadRequest, "user_count is only available for presence channels"
		}
		ms, err := s.hub.Members(r.Context(), a.ID, name)
		if err != nil {
			return nil, http.StatusInternalServerError, "channel unavailable"
		}
		attrs["user_count"] = len(ms)
	}
	if info["subscription_count"] {
		n, err := s.hub.Occupancy(r.Context(), a.ID, name)
		if err != nil {
			return nil, http.StatusInternalServerError, "channel unavailable"
		}
		attrs["subscription_count"] = n
	}
	return attrs, 0, ""
}

// ServeChannelUsers serves GET /apps/{id}/channels/{name}/users: the user
// ids of a presence channel.
func (s *Server) ServeChannelUsers(w http.ResponseWriter, r *http.Request, appID, name, clientIP string) {
	a, _ := s.authorize(w, r, appID, clientIP)
	if a == nil {
		return
	}
	if !isPresence(name) || !validChannel(name) {
		httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "users are only available for presence channels")
		return
	}
	ms, err := s.hub.Members(r.Context(), a.ID, name)
	if err != nil {
		httpx.WriteError(w, http.StatusInternalServerError, httpx.CodeServerError, "channel unavailable")
		return
	}
	type user struct {
		ID string `json:"id"`
	}
	users := make([]user, 0, len(ms))
	for _, m := range ms {
		users = append(users, user{m.UserID})
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"users": users})
}

// ServeTerminateUser serves POST /apps/{id}/users/{uid}/terminate_connections:
// every socket signed in as uid, on every node, is closed with 4009.
func (s *Server) ServeTerminateUser(w http.ResponseWriter, r *http.Request, appID, userID, clientIP string) {
	a, _ := s.authorize(w, r, appID, clientIP)
	if a == nil {
		return
	}
	if userID == "" {
		httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "user id is required")
		return
	}
	if err := s.hub.TerminateUser(r.Context(), a.ID, userID); err != nil {
		s.log.ErrorContext(r.Context(), "pusher: terminate user", "app", a.ID, "err", err)
		httpx.WriteError(w, http.StatusInternalServerError, httpx.CodeServerError, "could not terminate connections")
		return
	}
	httpx.WriteJSON(w, http.StatusOK, struct{}{})
}
