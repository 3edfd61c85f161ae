package pusher

import (
	"encoding/json"
	"testing"

	"gatehouse/realtime"
)

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `{"a":"b"}`, "\x00\x1f\"\\", "<&>", "\u2028\u2029", "\xff\xfe", "é😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Fatalf("invalid JSON for %q: %v", s, err)
		}
		want, _ := json.Marshal(s)
		var w string
		_ = json.Unmarshal(want, &w)
		if got != w {
			t.Fatalf("round trip of %q gave %q, encoding/json gives %q", s, got, w)
		}
	})
}

func TestEncodeEvent(t *testing.T) {
	tests := []struct {
		name string
		ev   *realtime.Event
		want string
	}{
		{"publish", &realtime.Event{Kind: realtime.KindPublish, Message: realtime.Message{Channel: "c", Name: "e", Data: `{"x":"<1>"}`}},
			`{"event":"e","channel":"c","data":"{\"x\":\"<1>\"}"}`},
		{"client event on presence", &realtime.Event{Kind: realtime.KindPublish, Message: realtime.Message{Channel: "presence-c", Name: "client-e", Data: "d", UserID: "u1"}},
			`{"event":"client-e","channel":"presence-c","data":"d","user_id":"u1"}`},
		{"member added", &realtime.Event{Kind: realtime.KindMemberAdded, UserInfo: json.RawMessage(`{"name":"Ada"}`), Message: realtime.Message{Channel: "presence-c", UserID: "u1"}},
			`{"event":"pusher_internal:member_added","channel":"presence-c","data":"{\"user_id\":\"u1\",\"user_info\":{\"name\":\"Ada\"}}"}`},
		{"member removed", &realtime.Event{Kind: realtime.KindMemberRemoved, Message: realtime.Message{Channel: "presence-c", UserID: "u1"}},
			`{"event":"pusher_internal:member_removed","channel":"presence-c","data":"{\"user_id\":\"u1\"}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(encodeEvent(tt.ev)); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
