package topics

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"gatehouse/pusherproto"
)

// Client frame types.
const (
	typeSubscribe   = "subscribe"
	typeUnsubscribe = "unsubscribe"
	typePublish     = "publish"
	typeRefresh     = "refresh"
	// typeMessage is the client's send(): an inbound message for the
	// backends subscribed to the app's inbound topic.
	typeMessage = "message"
	// typeHistory asks for a topic's kept events (apps[].history).
	typeHistory = "history"
)

// Limits of client frames.
const (
	maxMessageType = 200 // as a Pusher event name
	maxFrameID     = 128
	// defaultMessageType is what the client documents for a publish without
	// one.
	defaultMessageType = "broadcast"
)

// Error codes of priv/errors frames.
const (
	errInvalidMessage   = "invalid_message"
	errUnsupportedType  = "unsupported_type"
	errInvalidTopic     = "invalid_topic"
	errReservedTopic    = "reserved_topic"
	errForbidden        = "forbidden"
	errTooLarge         = "message_too_large"
	errRateLimited      = "rate_limited"
	errTooManySubs      = "too_many_subscriptions"
	errInvalidToken     = "invalid_token"
	errTokenExpired     = "token_expired"
	errServer           = "server_error"
	errSubscriptionLost = "subscription_revoked"
)

// frame is a parsed client frame.
type frame struct {
	Type        string
	Topic       string
	MessageType string
	// Payload is the JSON text of the payload (null when absent), trimmed.
	Payload     []byte
	ID          string
	AccessToken string
	Limit       int
}

// protoError is a refused frame: what goes into the priv/errors frame.
type protoError struct {
	Code    string
	Message string
	Topic   string
	ID      string
}

type wireFrame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

type wireData struct {
	Topic       string          `json:"topic"`
	MessageType string          `json:"messageType"`
	Payload     json.RawMessage `json:"payload"`
	ID          json.RawMessage `json:"id"`
	AccessToken string          `json:"access_token"`
	Limit       int             `json:"limit"`
	// compress is accepted and ignored: compression is permessage-deflate's
	// business.
}

// parseFrame decodes and checks a client frame: its shape, not the
// caller's permissions. A refused frame comes back as a protoError carrying
// as much of the topic and id as could be read.
func parseFrame(p []byte) (frame, *protoError) {
	if !utf8.Valid(p) {
		return frame{}, &protoError{Code: errInvalidMessage, Message: "frame is not valid UTF-8"}
	}
	var w wireFrame
	if err := json.Unmarshal(p, &w); err != nil {
		return frame{}, &protoError{Code: errInvalidMessage, Message: "frame is not a JSON object"}
	}
	var d wireData
	if raw := bytes.TrimSpace(w.Data); len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if raw[0] != '{' {
			return frame{}, &protoError{Code: errInvalidMessage, Message: "data is not an object"}
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			// Keep what can be read for the error frame.
			var loose struct {
				Topic any `json:"topic"`
				ID    any `json:"id"`
			}
			_ = json.Unmarshal(raw, &loose)
			t, _ := loose.Topic.(string)
			id, _ := loose.ID.(string)
			return frame{}, &protoError{Code: errInvalidMessage, Message: "data has a field of the wrong type", Topic: t, ID: clip(id)}
		}
	}
	id, idOK := frameID(d.ID)
	f := frame{Type: w.Type, Topic: d.Topic, MessageType: d.MessageType, ID: id, AccessToken: d.AccessToken, Limit: d.Limit}
	fail := func(code, msg string) (frame, *protoError) {
		return frame{}, &protoError{Code: code, Message: msg, Topic: clip(f.Topic), ID: clip(f.ID)}
	}
	if !idOK {
		f.ID = ""
		return fail(errInvalidMessage, "id must be a string or number of at most 128 bytes")
	}
	switch w.Type {
	case typeSubscribe, typeUnsubscribe, typeHistory:
		if f.Topic == "" {
			return fail(errInvalidMessage, "topic is required")
		}
	case typePublish, typeMessage:
		switch {
		case f.Topic == "" && w.Type == typePublish:
			return fail(errInvalidMessage, "topic is required")
		case f.ID == "":
			return fail(errInvalidMessage, "id is required")
		case len(f.MessageType) > maxMessageType:
			return fail(errInvalidMessage, "messageType is longer than 200 bytes")
		case strings.HasPrefix(f.MessageType, "pusher:") || strings.HasPrefix(f.MessageType, "pusher_internal:"):
			return fail(errInvalidMessage, "messageType must not start with pusher: or pusher_internal:")
		}
		if f.MessageType == "" {
			f.MessageType = defaultMessageType
		}
		f.Payload = bytes.TrimSpace(d.Payload)
		if len(f.Payload) == 0 {
			f.Payload = []byte("null")
		}
	case typeRefresh:
		if f.AccessToken == "" {
			return fail(errInvalidMessage, "access_token is required")
		}
	case "":
		return fail(errInvalidMessage, "type is required")
	default:
		return fail(errUnsupportedType, "unknown frame type")
	}
	return f, nil
}

// frameID reads an id given as a JSON string or number; absent is "".
func frameID(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", true
	}
	var id string
	if raw[0] == '"' {
		if json.Unmarshal(raw, &id) != nil {
			return "", false
		}
	} else {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return "", false
		}
		id = n.String()
	}
	return id, len(id) <= maxFrameID
}

// clip bounds a client-chosen string echoed in an error frame.
func clip(s string) string {
	const max = pusherproto.MaxChannelNameLen
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Reserved topic names of this protocol: the server's own main topic and
// its private per-connection topics. Pusher's server channels ("#...") and
// encrypted channels are reserved too (pusherproto).
const (
	topicMain       = "main"
	topicPrivPrefix = "priv/"
)

// ValidTopicName reports whether s is a topic name: at most 200 characters
// of the Pusher channel alphabet plus "/" (as in "secure/inbound"). Names
// with "/" cannot be Pusher channels, so Pusher clients never reach them.
func ValidTopicName(s string) bool {
	if s == "" || len(s) > pusherproto.MaxChannelNameLen || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
		return false
	}
	return pusherproto.ValidChannelName(strings.ReplaceAll(s, "/", "_"))
}

// checkTopic says why a client may not use topic at all, whatever its
// grants; "" when it may.
func checkTopic(topic string) (code, msg string) {
	switch {
	case topic == topicMain || strings.HasPrefix(topic, topicPrivPrefix):
		return errReservedTopic, "topic is reserved"
	case !ValidTopicName(topic):
		return errInvalidTopic, "topic names are at most 200 characters of [-a-zA-Z0-9_=@,.;/]"
	case strings.HasPrefix(topic, pusherproto.PrefixServer):
		return errReservedTopic, "server-to-user channels are not topics"
	case strings.HasPrefix(topic, pusherproto.PrefixEncrypted):
		return errReservedTopic, "encrypted channels are not topics"
	}
	return "", ""
}
