package topics

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"gatehouse/realtime"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestWireFramesGolden pins every frame shape the server writes.
func TestWireFramesGolden(t *testing.T) {
	from := func(m realtime.Message) []byte {
		return encodeEvent(&realtime.Event{Kind: realtime.KindPublish, Message: m})
	}
	frames := []struct {
		name string
		b    []byte
	}{
		{"welcome", welcomeJSON("123-456", "chat", "192.0.2.1", []string{"realtime:subscriber:read:topic:chat", "realtime:publisher:write:topic:chat"})},
		{"welcome_no_permissions", welcomeJSON("1-2", "chat", "::1", []string{})},
		{"ack", ackJSON("x1")},
		{"error", errorJSON(&protoError{Code: errForbidden, Message: "the token does not grant publishing on this topic", Topic: "chat", ID: "x1"})},
		{"refreshed", refreshedJSON("123-456", []string{"realtime:subscriber:read:topic:chat"}, 1795348800)},
		{"message_from_topic_client", from(realtime.Message{Channel: "chat", Name: "text-message", Data: `{"text":"hi"}`, Sender: "123-456", SenderSub: "auth0|42", ID: "x1"})},
		{"message_from_publish_api", from(realtime.Message{Channel: "chat", Name: "broadcast", Data: `"Hello"`, SenderSub: "svc", ID: "0123456789abcdef01234567"})},
		{"message_from_pusher_api_text", from(realtime.Message{Channel: "chat", Name: "new-message", Data: "hello <world> & \u2028"})},
		{"message_from_pusher_client_event", from(realtime.Message{Channel: "private-chat", Name: "client-typing", Data: ` {"who":"pat"} `, Sender: "123.456"})},
		{"member_added_not_delivered", encodeEvent(&realtime.Event{Kind: realtime.KindMemberAdded, Message: realtime.Message{Channel: "presence-a", UserID: "1"}})},
	}
	var got bytes.Buffer
	for _, f := range frames {
		got.WriteString(f.name + "\n" + string(f.b) + "\n\n")
	}
	path := filepath.Join("testdata", "frames.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("frames differ from %s (run with -update after checking):\n%s", path, got.Bytes())
	}
}
