package topics

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"gatehouse/realtime"
)

// FuzzParseFrame feeds arbitrary client frames to the parser: it never
// panics, what it accepts is complete, and what it refuses renders as a
// valid error frame.
func FuzzParseFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"publish","data":{"topic":"chat","messageType":"m","payload":{"a":[1,2]},"compress":true,"id":"x1"}}`,
		`{"type":"publish","data":{"topic":"chat","payload":"s","id":12}}`,
		`{"type":"subscribe","data":{"topic":"chat"}}`,
		`{"type":"unsubscribe","data":{"topic":"chat","id":"u"}}`,
		`{"type":"refresh","data":{"access_token":"a.b.c"}}`,
		`{"type":"message","data":{"payload":"x"}}`,
		`{"type":"publish","data":{"topic":7}}`,
		`{"type":"publish","data":"x"}`, `{"type":null,"data":null}`,
		`[]`, `"x"`, `null`, ``, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		fr, perr := parseFrame(p)
		if perr != nil {
			if perr.Code == "" || perr.Message == "" {
				t.Fatalf("refusal without code or message: %+v", perr)
			}
			var back map[string]any
			if err := json.Unmarshal(errorJSON(perr), &back); err != nil {
				t.Fatalf("error frame is not JSON: %v", err)
			}
			if len(perr.Topic) > 200 || len(perr.ID) > maxFrameID || !utf8.ValidString(perr.Topic) {
				t.Fatalf("unbounded echo: %+v", perr)
			}
			return
		}
		switch fr.Type {
		case typeSubscribe, typeUnsubscribe:
			if fr.Topic == "" {
				t.Fatal("subscription without topic accepted")
			}
		case typePublish:
			if fr.Topic == "" || fr.ID == "" || fr.MessageType == "" || len(fr.MessageType) > maxMessageType {
				t.Fatalf("incomplete publish accepted: %+v", fr)
			}
			if !json.Valid(fr.Payload) || !utf8.Valid(fr.Payload) {
				t.Fatalf("payload %q is not valid JSON", fr.Payload)
			}
		case typeRefresh:
			if fr.AccessToken == "" {
				t.Fatal("refresh without token accepted")
			}
		default:
			t.Fatalf("type %q accepted", fr.Type)
		}
		if len(fr.ID) > maxFrameID {
			t.Fatal("long id accepted")
		}
	})
}

// FuzzEncodeMessage renders arbitrary hub messages: the frame is always
// valid JSON in valid UTF-8, and a payload that is not JSON comes back as
// the same string.
func FuzzEncodeMessage(f *testing.F) {
	f.Add("chat", "m", `{"a":1}`, "1.2", "auth0|42", "id")
	f.Add("chat", "m", "plain \u2028 text", "", "", "")
	f.Add("c", "", " 12 ", "", "s", "")
	f.Add("c", "\x00", "\xff\xfe", "x", "", "\"")
	f.Fuzz(func(t *testing.T, topic, name, data, sender, sub, id string) {
		m := realtime.Message{Channel: topic, Name: name, Data: data, Sender: sender, SenderSub: sub, ID: id}
		b := encodeEvent(&realtime.Event{Kind: realtime.KindPublish, Message: m})
		if !utf8.Valid(b) {
			t.Fatalf("frame is not UTF-8: %q", b)
		}
		var back struct {
			Data struct {
				Payload json.RawMessage `json:"payload"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("frame %q is not JSON: %v", b, err)
		}
		if !isJSON(data) && utf8.ValidString(data) {
			var s string
			if err := json.Unmarshal(back.Data.Payload, &s); err != nil || s != data {
				t.Fatalf("payload %s, want the string %q", back.Data.Payload, data)
			}
		}
	})
}

// FuzzAdminRequest feeds arbitrary bodies to the publish API's parser.
func FuzzAdminRequest(f *testing.F) {
	f.Add([]byte(`{"topic":"chat","messageType":"m","message":{"a":1}}`))
	f.Add([]byte(`{"topic":"main","message":1}`))
	f.Add([]byte(`{"topic":"chat"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, msg := parseAdminRequest(body)
		if msg != "" {
			return
		}
		if code, _ := checkTopic(req.Topic); code != "" || req.MessageType == "" || !json.Valid(req.Message) {
			t.Fatalf("accepted %+v", req)
		}
	})
}
