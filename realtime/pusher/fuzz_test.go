package pusher

import (
	"encoding/json"
	"testing"
)

// FuzzClientFrame feeds arbitrary client frames through every parser a
// frame meets before reaching the hub.
func FuzzClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"event":"pusher:subscribe","data":{"channel":"presence-a","auth":"k:s","channel_data":"{\"user_id\":1,\"user_info\":{}}"}}`,
		`{"event":"pusher:subscribe","data":"{\"channel\":\"a\"}"}`,
		`{"event":"client-x","channel":"private-a","data":{"a":[1,2]}}`,
		`{"event":"pusher:signin","data":{"auth":"k:s","user_data":"{\"id\":\"1\"}"}}`,
		`{"event":"pusher:ping","data":{}}`,
		`{"event":"","data":null}`, `[]`, `"x"`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		fr, ok := parseFrame(p)
		if !ok {
			return
		}
		obj := dataObject(fr.Data)
		var sd subscribeData
		if json.Unmarshal(obj, &sd) == nil {
			if m, ok := parseMember(sd.ChannelData); ok && m.UserID == "" {
				t.Fatal("member without user id accepted")
			}
			_ = validChannel(sd.Channel)
		}
		s := dataString(fr.Data)
		var back string
		if err := json.Unmarshal(appendString(nil, s), &back); err != nil {
			t.Fatalf("re-encoded data is not JSON: %v", err)
		}
	})
}
