package topics

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"gatehouse/realtime"
	"gatehouse/realtime/internal/framing"
	"gatehouse/realtime/internal/jsonenc"
)

// codecs encode each event once per fan-out and frame it once per
// permessage-deflate variant.
var codecs = framing.New("topics", encodeEvent)

// encodeEvent renders a published hub message for topic subscribers.
// Presence changes of Pusher channels are not part of this protocol.
func encodeEvent(ev *realtime.Event) []byte {
	if ev.Kind != realtime.KindPublish {
		return nil
	}
	return appendMessage(nil, &ev.Message)
}

// appendMessage appends
// {"topic","messageType","data":{"payload","client":{"connectionId","sub"},"id"}}.
// The hub message's Data is the payload's JSON text when it is valid JSON
// (what a topic publish stores, and what a Pusher client may send), and is
// otherwise passed as a JSON string. client is left out for messages with no
// known sender (Pusher HTTP API), and id for messages without one.
func appendMessage(b []byte, m *realtime.Message) []byte {
	b = append(b, `{"topic":`...)
	b = appendString(b, m.Channel)
	b = append(b, `,"messageType":`...)
	b = appendString(b, m.Name)
	b = append(b, `,"data":{"payload":`...)
	b = appendPayload(b, m.Data)
	if m.Sender != "" || m.SenderSub != "" {
		b = append(b, `,"client":{`...)
		comma := false
		if m.Sender != "" {
			b = append(b, `"connectionId":`...)
			b = appendString(b, m.Sender)
			comma = true
		}
		if m.SenderSub != "" {
			if comma {
				b = append(b, ',')
			}
			b = append(b, `"sub":`...)
			b = appendString(b, m.SenderSub)
		}
		b = append(b, '}')
	}
	if m.ID != "" {
		b = append(b, `,"id":`...)
		b = appendString(b, m.ID)
	}
	return append(b, "}}"...)
}

// appendPayload appends data as JSON when it is a valid JSON text (in valid
// UTF-8, so the text frame stays valid), and as a JSON string otherwise.
func appendPayload(b []byte, data string) []byte {
	if isJSON(data) {
		return append(b, trimSpace(data)...)
	}
	return appendString(b, data)
}

// isJSON reports whether s is one valid JSON value in valid UTF-8.
func isJSON(s string) bool {
	return s != "" && utf8.ValidString(s) && json.Valid([]byte(s))
}

func trimSpace(s string) string {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// welcomeJSON is the first frame of every connection; the client turns
// data.connection into its session.started event.
func welcomeJSON(id, appID, remoteAddr string, permissions []string) []byte {
	b := []byte(`{"topic":"main","messageType":"welcome","data":{"connection":{"id":`)
	b = appendString(b, id)
	b = append(b, `,"appId":`...)
	b = appendString(b, appID)
	b = append(b, `,"remoteAddress":`...)
	b = appendString(b, remoteAddr)
	b = append(b, `,"permissions":`...)
	b = appendStrings(b, permissions)
	return append(b, "}}}"...)
}

// refreshedJSON confirms a refresh with the new permissions and expiry
// (Unix seconds).
func refreshedJSON(id string, permissions []string, exp int64) []byte {
	b := []byte(`{"topic":"main","messageType":"refreshed","data":{"connection":{"id":`)
	b = appendString(b, id)
	b = append(b, `,"permissions":`...)
	b = appendStrings(b, permissions)
	b = append(b, `},"expiresAt":`...)
	b = strconv.AppendInt(b, exp, 10)
	return append(b, "}}"...)
}

// ackJSON acknowledges frame id; the client resolves waitForAck on
// data.data.
func ackJSON(id string) []byte {
	b := []byte(`{"topic":"priv/acks","messageType":"ack","data":{"data":`)
	b = appendString(b, id)
	return append(b, "}}"...)
}

// errorJSON renders a priv/errors frame.
func errorJSON(e *protoError) []byte {
	b := []byte(`{"topic":"priv/errors","messageType":"error","data":{"code":`)
	b = appendString(b, e.Code)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	b = append(b, `,"topic":`...)
	b = appendString(b, e.Topic)
	b = append(b, `,"id":`...)
	b = appendString(b, e.ID)
	return append(b, "}}"...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString appends s as a JSON string (see jsonenc.AppendString).
func appendString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }
