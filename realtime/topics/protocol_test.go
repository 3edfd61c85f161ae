package topics_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"gatehouse/realtime"
	"gatehouse/realtime/internal/wstest"
	"gatehouse/realtime/topics"
)

func TestWelcome(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := wstest.Dial(t, e.wsURL(e.mint("auth0|42", "", 0, sub("chat"), pub("chat-*"))), wstest.Options{})
	raw := c.ReadText(t)
	var f struct {
		Topic       string `json:"topic"`
		MessageType string `json:"messageType"`
		Data        struct {
			Connection struct {
				ID            string   `json:"id"`
				AppID         string   `json:"appId"`
				RemoteAddress string   `json:"remoteAddress"`
				Permissions   []string `json:"permissions"`
			} `json:"connection"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	conn := f.Data.Connection
	switch {
	case f.Topic != "main" || f.MessageType != "welcome":
		t.Fatalf("got %s", raw)
	case conn.ID == "" || strings.Contains(conn.ID, "."):
		t.Fatalf("connection id %q: want one without dots (the client splits event names on them)", conn.ID)
	case conn.AppID != appID || conn.RemoteAddress != "127.0.0.1":
		t.Fatalf("got %s", raw)
	case !slices.Equal(conn.Permissions, []string{sub("chat"), pub("chat-*")}):
		t.Fatalf("permissions %v", conn.Permissions)
	}
}

func TestPublishReachesSubscribers(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice := e.user(t, "alice", sub("chat"))
	bob := e.user(t, "bob", pub("chat"))
	alice.subscribed("chat")

	bob.publish("chat", "text-message", map[string]any{"text": "hi", "n": 1}, "m1")
	bob.expectAck("m1")
	d := alice.expectDelivery("chat", "text-message")
	if string(d.Payload) != `{"n":1,"text":"hi"}` {
		t.Fatalf("payload %s", d.Payload)
	}
	if d.Client == nil || d.Client.ConnectionID != bob.id || d.Client.Sub != "bob" || d.ID == nil || *d.ID != "m1" {
		t.Fatalf("delivery %+v", d)
	}

	// A string payload stays a string; a publish without messageType gets
	// the client's documented default.
	bob.send("publish", map[string]any{"topic": "chat", "payload": "Hello", "id": "m2"})
	bob.expectAck("m2")
	d = alice.expectDelivery("chat", "broadcast")
	if string(d.Payload) != `"Hello"` {
		t.Fatalf("payload %s", d.Payload)
	}

	// Unsubscribed, alice gets nothing more.
	alice.send("unsubscribe", map[string]any{"topic": "chat"})
	alice.sync()
	bob.publish("chat", "text-message", "again", "m3")
	bob.expectAck("m3")
	alice.sync()
}

func TestSelfDelivery(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.user(t, "carol", sub("chat"), pub("chat"))
	c.subscribed("chat")
	c.publish("chat", "note", 42, "own")
	// The ack and the message arrive in either order.
	got := map[string]bool{}
	for range 2 {
		m := c.next()
		got[m.Topic+"."+m.MessageType] = true
		if m.Topic == "chat" {
			var d struct {
				Payload json.RawMessage `json:"payload"`
			}
			_ = json.Unmarshal(m.Data, &d)
			if string(d.Payload) != "42" {
				t.Fatalf("own message %s", m.Data)
			}
		}
	}
	if !got["priv/acks.ack"] || !got["chat.note"] {
		t.Fatalf("got %v", got)
	}
}

func TestDeniedSubscribe(t *testing.T) {
	e := newEnv(t, envOpts{})
	eve := e.user(t, "eve", sub("public-*"), pub("chat"))
	bob := e.user(t, "bob", pub("chat"))
	eve.send("subscribe", map[string]any{"topic": "chat", "id": "s1"})
	d := eve.expectError("forbidden")
	if d.Topic != "chat" || d.ID != "s1" {
		t.Fatalf("error %+v", d)
	}
	bob.publish("chat", "secret", "x", "p1")
	bob.expectAck("p1")
	eve.sync() // nothing was delivered before the sync ack
}

func TestDeniedPublish(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice := e.user(t, "alice", sub("chat"))
	mallory := e.user(t, "mallory", sub("chat"), pub("public-*"))
	alice.subscribed("chat")
	mallory.subscribed("chat")
	mallory.publish("chat", "spoof", "x", "p1")
	d := mallory.expectError("forbidden")
	if d.Topic != "chat" || d.ID != "p1" {
		t.Fatalf("error %+v", d)
	}
	mallory.sync() // no ack, no own delivery
	alice.sync()   // nothing delivered
}

func TestMalformedFrames(t *testing.T) {
	big := strings.Repeat("x", 11000)
	tests := []struct {
		name  string
		frame string
		code  string
		topic string
		id    string
	}{
		{"not JSON", `{"type":"publish",`, "invalid_message", "", ""},
		{"not an object", `[1,2]`, "invalid_message", "", ""},
		{"no type", `{"data":{"topic":"chat"}}`, "invalid_message", "chat", ""},
		{"unknown type", `{"type":"shout","data":{"topic":"chat","id":"u1"}}`, "unsupported_type", "chat", "u1"},
		{"send to backend", `{"type":"message","data":{"payload":"x","id":"b1"}}`, "unsupported_type", "", "b1"},
		{"data not an object", `{"type":"subscribe","data":"chat"}`, "invalid_message", "", ""},
		{"subscribe without topic", `{"type":"subscribe","data":{}}`, "invalid_message", "", ""},
		{"topic of the wrong type", `{"type":"publish","data":{"topic":7,"id":"t1","payload":1}}`, "invalid_message", "", "t1"},
		{"publish without topic", `{"type":"publish","data":{"payload":1,"id":"p1"}}`, "invalid_message", "", "p1"},
		{"publish without id", `{"type":"publish","data":{"topic":"chat","payload":1}}`, "invalid_message", "chat", ""},
		{"id too long", `{"type":"publish","data":{"topic":"chat","payload":1,"id":"` + strings.Repeat("i", 129) + `"}}`, "invalid_message", "chat", ""},
		{"id an object", `{"type":"publish","data":{"topic":"chat","payload":1,"id":{}}}`, "invalid_message", "chat", ""},
		{"invalid topic", `{"type":"publish","data":{"topic":"secure//inbound","payload":1,"id":"p2"}}`, "invalid_topic", "secure//inbound", "p2"},
		{"topic too long", `{"type":"subscribe","data":{"topic":"` + strings.Repeat("a", 201) + `"}}`, "invalid_topic", strings.Repeat("a", 200), ""},
		{"reserved main", `{"type":"subscribe","data":{"topic":"main"}}`, "reserved_topic", "main", ""},
		{"reserved acks", `{"type":"publish","data":{"topic":"priv/acks","payload":1,"id":"p3"}}`, "reserved_topic", "priv/acks", "p3"},
		{"server-to-user channel", `{"type":"subscribe","data":{"topic":"#server-to-user-bob"}}`, "reserved_topic", "#server-to-user-bob", ""},
		{"encrypted channel", `{"type":"publish","data":{"topic":"private-encrypted-chat","payload":1,"id":"p4"}}`, "reserved_topic", "private-encrypted-chat", "p4"},
		{"pusher event name", `{"type":"publish","data":{"topic":"chat","messageType":"pusher:error","payload":1,"id":"p5"}}`, "invalid_message", "chat", "p5"},
		{"refresh without token", `{"type":"refresh","data":{"id":"r1"}}`, "invalid_message", "", "r1"},
		{"oversized payload", `{"type":"publish","data":{"topic":"chat","payload":"` + big + `","id":"p6"}}`, "message_too_large", "chat", "p6"},
	}
	e := newEnv(t, envOpts{})
	alice := e.user(t, "alice", sub("*"))
	alice.subscribed("chat")
	c := e.user(t, "fuzzy", sub("*"), pub("*"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.WriteText(t, tt.frame)
			d := c.expectError(tt.code)
			if d.Topic != tt.topic || d.ID != tt.id || d.Message == "" {
				t.Fatalf("error %+v, want topic %q id %q", d, tt.topic, tt.id)
			}
		})
	}
	c.t = t
	c.sync() // the connection survived every bad frame
	alice.sync()
}

// A text frame that is not UTF-8 fails the connection with 1007 (RFC 6455
// §8.1), before any protocol handling.
func TestInvalidUTF8Closes1007(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.user(t, "fuzzy", sub("*"), pub("*"))
	c.WriteText(t, "{\"type\":\"publish\",\"data\":{\"topic\":\"chat\",\"payload\":\"\xff\",\"id\":\"p7\"}}")
	if code, _, _ := c.ExpectClose(t); code != 1007 {
		t.Fatalf("close %d, want 1007", code)
	}
}

func TestFrameOverTransportLimitCloses(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.user(t, "big", pub("chat"))
	c.publish("chat", "x", strings.Repeat("y", 10240+8192), "huge")
	if code, _, _ := c.ExpectClose(t); code != 1009 {
		t.Fatalf("close code %d, want 1009", code)
	}
}

func TestPublishRateLimit(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *topics.Config) { c.PublishesPerSecond = 2 }})
	c := e.user(t, "chatty", pub("chat"))
	c.publish("chat", "x", 1, "a")
	c.expectAck("a")
	c.publish("chat", "x", 2, "b")
	c.expectAck("b")
	c.publish("chat", "x", 3, "c")
	if d := c.expectError("rate_limited"); d.ID != "c" {
		t.Fatalf("error %+v", d)
	}
	e.clock.Advance(1e9)
	c.publish("chat", "x", 4, "d")
	c.expectAck("d")
}

func TestSubscriptionLimit(t *testing.T) {
	e := newEnv(t, envOpts{limits: realtime.Limits{ChannelsPerConnection: 2}})
	c := e.user(t, "greedy", sub("*"))
	c.subscribed("a")
	c.subscribed("b")
	c.subscribed("a") // again: no new subscription
	c.send("subscribe", map[string]any{"topic": "c", "id": "s3"})
	c.expectError("too_many_subscriptions")
	c.send("unsubscribe", map[string]any{"topic": "a"})
	c.subscribed("c")
}

func TestCompressedConnection(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice := e.connect(t, e.mint("alice", "", 0, sub("chat")), wstest.Options{Compress: true})
	bob := e.connect(t, e.mint("bob", "", 0, pub("chat")), wstest.Options{Compress: true})
	if !alice.Compressed || !bob.Compressed {
		t.Fatal("permessage-deflate not negotiated")
	}
	alice.subscribed("chat")
	long := strings.Repeat("compress me ", 100)
	bob.send("publish", map[string]any{"topic": "chat", "messageType": "m", "payload": long, "id": "z", "compress": true})
	bob.expectAck("z")
	m, err := alice.Read()
	if err != nil {
		t.Fatal(err)
	}
	if !m.Compressed {
		t.Fatal("large message was not compressed")
	}
	var f struct {
		Data struct {
			Payload string `json:"payload"`
		} `json:"data"`
	}
	if err := json.Unmarshal(m.Data, &f); err != nil || f.Data.Payload != long {
		t.Fatalf("payload %q (%v)", f.Data.Payload, err)
	}
}
