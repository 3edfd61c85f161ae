package topics_test

import (
	"testing"
)

// Pusher → topics: the event name is the messageType; data that is JSON
// text arrives as JSON, anything else as a string.
func TestPusherAPIEventReachesTopics(t *testing.T) {
	tests := []struct {
		name, data, payload string
	}{
		{"JSON object", `{"text":"hi","n":[1,2]}`, `{"text":"hi","n":[1,2]}`},
		{"JSON number", `42`, `42`},
		{"JSON string", `"quoted"`, `"quoted"`},
		{"plain text", `hello world`, `"hello world"`},
		{"empty", ``, `""`},
		{"broken JSON", `{"a":`, `"{\"a\":"`},
	}
	e := newEnv(t, envOpts{})
	c := e.user(t, "reader", sub("chat"))
	c.subscribed("chat")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			e.t = t
			e.trigger("chat", "new-message", tt.data)
			d := c.expectDelivery("chat", "new-message")
			if string(d.Payload) != tt.payload {
				t.Fatalf("payload %s, want %s", d.Payload, tt.payload)
			}
			if d.Client != nil || d.ID != nil {
				t.Fatalf("an HTTP API event has no client and no id: %+v", d)
			}
		})
	}
}

// A pusher-js client event (private channel) reaches topic subscribers
// without the Pusher socket id: it is a secret of the socket's owner, and
// whoever knew it could ask /pusher/auth to bind that socket to their own
// session and close it by logging out.
func TestPusherClientEventReachesTopics(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.user(t, "reader", sub("private-chat"))
	c.subscribed("private-chat")
	p := e.pusherConnect(t)
	p.subscribe("private-chat")
	p.send("client-typing", "private-chat", map[string]any{"who": "pat"})
	p.sync()
	d := c.expectDelivery("private-chat", "client-typing")
	if string(d.Payload) != `{"who":"pat"}` || (d.Client != nil && d.Client.ConnectionID != "") {
		t.Fatalf("delivery %+v payload %s", d, d.Payload)
	}
}

// Topics → Pusher: messageType is the event name and the payload arrives
// JSON-encoded in the data string, on public channels (no grant needed on
// the Pusher side) and private ones alike.
func TestTopicPublishReachesPusher(t *testing.T) {
	tests := []struct {
		name    string
		channel string
		payload any
		data    string
	}{
		{"object on a public channel", "chat", map[string]any{"a": []int{1, 2}}, `{"a":[1,2]}`},
		{"string", "chat", "Hello", `"Hello"`},
		{"number", "chat", 3.5, `3.5`},
		{"null", "chat", nil, `null`},
		{"private channel", "private-chat", map[string]any{"k": "v"}, `{"k":"v"}`},
	}
	e := newEnv(t, envOpts{})
	p := e.pusherConnect(t)
	p.subscribe("chat")
	p.subscribe("private-chat")
	w := e.user(t, "writer", pub("chat"), pub("private-chat"))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.t, w.t = t, t
			id := string(rune('a' + i))
			w.publish(tt.channel, "update", tt.payload, id)
			w.expectAck(id)
			f := p.expect("update")
			if f.Channel != tt.channel || f.dataString(t) != tt.data {
				t.Fatalf("pusher frame %s %s, want data %s", f.Channel, f.Data, tt.data)
			}
		})
	}
}

// A topic message published with the Pusher data of a Pusher event
// round-trips: topics → Pusher → topics keeps the payload.
func TestRoundTripThroughBothProtocols(t *testing.T) {
	e := newEnv(t, envOpts{})
	r := e.user(t, "reader", sub("chat"))
	r.subscribed("chat")
	p := e.pusherConnect(t)
	p.subscribe("chat")
	w := e.user(t, "writer", pub("chat"))
	w.publish("chat", "m", map[string]any{"x": "y"}, "1")
	w.expectAck("1")
	data := p.expect("m").dataString(t)
	got := r.expectDelivery("chat", "m")
	e.trigger("chat", "m", data)
	again := r.expectDelivery("chat", "m")
	if string(got.Payload) != `{"x":"y"}` || string(again.Payload) != string(got.Payload) {
		t.Fatalf("payloads %s and %s", got.Payload, again.Payload)
	}
}

// A cache channel's last event, whoever published it, greets a new topic
// subscriber, before anything newer.
func TestCacheChannelReplaysToTopics(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.trigger("cache-news", "headline", `{"title":"first"}`)
	c := e.user(t, "late", sub("cache-news"))
	c.send("subscribe", map[string]any{"topic": "cache-news", "id": "s"})
	c.expectAck("s")
	d := c.expectDelivery("cache-news", "headline")
	if string(d.Payload) != `{"title":"first"}` {
		t.Fatalf("payload %s", d.Payload)
	}
}
