package pusher

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"gatehouse/apps"
	"gatehouse/internal/httpx"
	"gatehouse/pusherproto"
	"gatehouse/realtime"
)

// Limits of the events API.
const (
	maxEventChannels = 100
	maxBatchEvents   = 10
)

// apiEvent is one event of POST /events or of a batch.
type apiEvent struct {
	Name     string          `json:"name"`
	Data     json.RawMessage `json:"data"`
	Channel  string          `json:"channel"`
	Channels []string        `json:"channels"`
	SocketID string          `json:"socket_id"`
	Info     string          `json:"info"`
}

// ServeEvents serves POST /apps/{id}/events: one event to up to 100
// channels, except the socket named by socket_id.
func (s *Server) ServeEvents(w http.ResponseWriter, r *http.Request, appID, clientIP string) {
	a, body := s.authorize(w, r, appID, clientIP)
	if a == nil {
		return
	}
	var ev apiEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "body is not a JSON event")
		return
	}
	if ev.Channel != "" {
		ev.Channels = append(ev.Channels, ev.Channel)
	}
	if status, msg := s.checkEvent(&ev, maxEventChannels); status != 0 {
		httpx.WriteError(w, status, httpx.CodeInvalidRequest, msg)
		return
	}
	info, ok := s.publishEvent(w, r, a, ev)
	switch {
	case !ok:
	case info == nil:
		httpx.WriteJSON(w, http.StatusOK, struct{}{})
	default:
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"channels": info})
	}
}

// ServeBatchEvents serves POST /apps/{id}/batch_events: up to 10 events,
// each on one channel.
func (s *Server) ServeBatchEvents(w http.ResponseWriter, r *http.Request, appID, clientIP string) {
	a, body := s.authorize(w, r, appID, clientIP)
	if a == nil {
		return
	}
	var b struct {
		Batch []apiEvent `json:"batch"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "body is not a JSON batch")
		return
	}
	if len(b.Batch) == 0 || len(b.Batch) > maxBatchEvents {
		httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "a batch holds 1 to 10 events")
		return
	}
	for i := range b.Batch {
		ev := &b.Batch[i]
		if ev.Channel != "" {
			ev.Channels = []string{ev.Channel}
		}
		if status, msg := s.checkEvent(ev, 1); status != 0 {
			httpx.WriteError(w, status, httpx.CodeInvalidRequest, msg)
			return
		}
	}
	withInfo := false
	results := make([]map[string]any, len(b.Batch))
	for i, ev := range b.Batch {
		info, ok := s.publishEvent(w, r, a, ev)
		if !ok {
			return
		}
		results[i] = map[string]any{}
		if info != nil {
			withInfo = true
			results[i] = info[ev.Channels[0]]
		}
	}
	if withInfo {
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"batch": results})
		return
	}
	httpx.WriteJSON(w, http.StatusOK, struct{}{})
}

// checkEvent validates an event, returning an HTTP status and message.
func (s *Server) checkEvent(ev *apiEvent, maxChannels int) (int, string) {
	switch {
	case ev.Name == "":
		return http.StatusBadRequest, "name is required"
	case len(ev.Name) > maxEventName:
		return http.StatusBadRequest, "name is longer than 200 characters"
	case len(ev.Channels) == 0:
		return http.StatusBadRequest, "channel or channels is required"
	case len(ev.Channels) > maxChannels:
		return http.StatusBadRequest, "too many channels"
	case ev.SocketID != "" && !pusherproto.ValidSocketID(ev.SocketID):
		return http.StatusBadRequest, "socket_id is malformed"
	}
	userCount := splitInfo(ev.Info)["user_count"]
	for _, ch := range ev.Channels {
		if !validChannel(ch) {
			return http.StatusBadRequest, "invalid channel name"
		}
		if userCount && !isPresence(ch) {
			return http.StatusBadRequest, "user_count is only available for presence channels"
		}
	}
	if len(dataString(bytes.TrimSpace(ev.Data))) > s.hub.Limits().MaxMessageBytes {
		return http.StatusRequestEntityTooLarge, "event data is too large"
	}
	return 0, ""
}

// publishEvent publishes ev on its channels and returns the info the caller
// asked for (nil when none). On failure it writes the error and returns
// false.
func (s *Server) publishEvent(w http.ResponseWriter, r *http.Request, a *apps.App, ev apiEvent) (map[string]map[string]any, bool) {
	ctx := r.Context()
	data := dataString(bytes.TrimSpace(ev.Data))
	for _, ch := range ev.Channels {
		msg := realtime.Message{App: a.ID, Channel: ch, Name: ev.Name, Data: data, Except: ev.SocketID}
		if err := s.hub.Publish(ctx, msg); err != nil {
			s.log.ErrorContext(ctx, "pusher: api publish", "app", a.ID, "channel", ch, "err", err)
			httpx.WriteError(w, http.StatusInternalServerError, httpx.CodeServerError, "the event could not be published")
			return nil, false
		}
	}
	if ev.Info == "" {
		return nil, true
	}
	info := map[string]map[string]any{}
	for _, ch := range ev.Channels {
		attrs, status, msg := s.channelAttrs(r, a, ch, ev.Info)
		if status != 0 {
			httpx.WriteError(w, status, httpx.CodeInvalidRequest, msg)
			return nil, false
		}
		info[ch] = attrs
	}
	return info, true
}

// splitInfo parses the info parameter: a comma-separated attribute list.
func splitInfo(info string) map[string]bool {
	out := map[string]bool{}
	for _, f := range strings.Split(info, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out[f] = true
		}
	}
	return out
}
