package topics

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"gatehouse/authn"
	"gatehouse/internal/httpx"
	"gatehouse/realtime"
)

// adminRequest is the body of POST /api/topics/{id}/publish.
type adminRequest struct {
	Topic       string          `json:"topic"`
	MessageType string          `json:"messageType"`
	Message     json.RawMessage `json:"message"`
}

// ServeAdminPublish serves POST /api/topics/{id}/publish: a backend with a
// token granting realtime:publisher:write:topic:<topic> publishes
// {"topic","messageType","message"} to the topic subscribers (and Pusher
// subscribers of the channel of that name) of app appID. message is the
// payload, any JSON value; messageType defaults to "broadcast".
//
// Answers: 200 {}; 400 malformed body; 401 missing or refused token; 403 no
// grant for the topic; 404 unknown app; 413 body over 64 KiB or message
// over the hub's message limit. Errors are httpx.WriteError's JSON body.
func (s *Server) ServeAdminPublish(w http.ResponseWriter, r *http.Request, appID, clientIP string) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpx.WriteError(w, http.StatusMethodNotAllowed, httpx.CodeInvalidRequest, "use POST")
		return
	}
	if s.cfg.Apps.ByID(appID) == nil {
		httpx.WriteError(w, http.StatusNotFound, httpx.CodeInvalidRequest, "unknown app")
		return
	}
	tok, err := s.checkToken(ctx, appID, authn.AdminKey, bearer(r, false))
	if err != nil {
		s.log.InfoContext(ctx, "topics: publish refused", "app", appID, "ip", clientIP, "err", err)
		unauthorized(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, httpx.MaxBodyBytes))
	if err != nil {
		httpx.WriteBodyError(w, err)
		return
	}
	req, msg := parseAdminRequest(body)
	if msg != "" {
		httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, msg)
		return
	}
	if !tok.grants.CanPublish(req.Topic) {
		s.log.InfoContext(ctx, "topics: publish denied", "app", appID, "topic", req.Topic, "sub", tok.sub)
		httpx.WriteError(w, http.StatusForbidden, httpx.CodeAccessDenied, "the token does not grant publishing on this topic")
		return
	}
	if len(req.Message) > s.hub.Limits().MaxMessageBytes {
		httpx.WriteError(w, http.StatusRequestEntityTooLarge, httpx.CodeInvalidRequest, "message exceeds the allowed maximum")
		return
	}
	m := adminMessage(appID, tok.sub, req)
	if err := s.hub.Publish(ctx, m); err != nil {
		s.log.ErrorContext(ctx, "topics: admin publish", "app", appID, "topic", req.Topic, "err", err)
		httpx.WriteError(w, http.StatusInternalServerError, httpx.CodeServerError, "the message could not be published")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("{}"))
}

// parseAdminRequest decodes and checks a publish body; msg says what is
// wrong, "" when nothing is.
func parseAdminRequest(body []byte) (req adminRequest, msg string) {
	if !utf8.Valid(body) {
		return req, "body is not valid UTF-8"
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return req, "body is not a JSON object with string topic and messageType"
	}
	if req.Topic == "" {
		return req, "topic is required"
	}
	if code, why := checkTopic(req.Topic); code != "" {
		return req, why
	}
	switch {
	case len(req.MessageType) > maxMessageType:
		return req, "messageType is longer than 200 bytes"
	case strings.HasPrefix(req.MessageType, "pusher:") || strings.HasPrefix(req.MessageType, "pusher_internal:"):
		return req, "messageType must not start with pusher: or pusher_internal:"
	case req.MessageType == "":
		req.MessageType = defaultMessageType
	}
	req.Message = bytes.TrimSpace(req.Message)
	if len(req.Message) == 0 {
		return req, "message is required"
	}
	return req, ""
}

// newMessageID returns a random id for messages whose publisher chose none.
func newMessageID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// adminMessage is the hub message of a publish request: the token's subject
// is the sender, and the message gets a fresh id.
func adminMessage(appID, sub string, req adminRequest) realtime.Message {
	return realtime.Message{
		App: appID, Channel: req.Topic, Name: req.MessageType, Data: string(req.Message),
		SenderSub: sub, ID: newMessageID(),
	}
}
