package pusher

import (
	"strconv"

	"gatehouse/realtime"
	"gatehouse/realtime/internal/framing"
	"gatehouse/realtime/internal/jsonenc"
)

// codecs encode each event once per fan-out and frame it once per
// permessage-deflate variant.
var codecs = framing.New("pusher", encodeEvent)

// encodeEvent renders a hub event as the Pusher frame pusher-js expects.
func encodeEvent(ev *realtime.Event) []byte {
	switch ev.Kind {
	case realtime.KindPublish:
		b := make([]byte, 0, len(ev.Data)+len(ev.Name)+len(ev.Channel)+48)
		b = append(b, `{"event":`...)
		b = appendString(b, ev.Name)
		b = append(b, `,"channel":`...)
		b = appendString(b, ev.Channel)
		b = append(b, `,"data":`...)
		b = appendString(b, ev.Data)
		if ev.UserID != "" {
			b = append(b, `,"user_id":`...)
			b = appendString(b, ev.UserID)
		}
		return append(b, '}')
	case realtime.KindMemberAdded:
		d := append([]byte(`{"user_id":`), appendString(nil, ev.UserID)...)
		if len(ev.UserInfo) > 0 {
			d = append(d, `,"user_info":`...)
			d = append(d, ev.UserInfo...)
		}
		d = append(d, '}')
		return eventJSON("pusher_internal:member_added", ev.Channel, string(d))
	case realtime.KindMemberRemoved:
		d := append(append([]byte(`{"user_id":`), appendString(nil, ev.UserID)...), '}')
		return eventJSON("pusher_internal:member_removed", ev.Channel, string(d))
	}
	return nil
}

// eventJSON renders {"event","channel","data"} with data as a JSON string;
// channel is left out when empty.
func eventJSON(event, channel, data string) []byte {
	b := make([]byte, 0, len(event)+len(channel)+len(data)+40)
	b = append(b, `{"event":`...)
	b = appendString(b, event)
	if channel != "" {
		b = append(b, `,"channel":`...)
		b = appendString(b, channel)
	}
	b = append(b, `,"data":`...)
	b = appendString(b, data)
	return append(b, '}')
}

// errorJSON renders pusher:error with an object as data, as Pusher sends it.
func errorJSON(code int, message string) []byte {
	b := []byte(`{"event":"pusher:error","data":{"code":`)
	if code == 0 {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(code), 10)
	}
	b = append(b, `,"message":`...)
	b = appendString(b, message)
	return append(b, "}}"...)
}

// appendString appends s as a JSON string (see jsonenc.AppendString).
func appendString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }
