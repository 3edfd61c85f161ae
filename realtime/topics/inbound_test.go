package topics_test

import (
	"encoding/json"
	"testing"

	"gatehouse/apps"
	"gatehouse/realtime/topics"
)

const inboundTopic = "secure/inbound"

// inboundEnv is an environment whose app has the inbound topic on.
func inboundEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, envOpts{cfg: func(c *topics.Config) {
		set, err := apps.New(apps.App{ID: appID, Key: appKey, Secret: appSecret, InboundTopic: inboundTopic})
		if err != nil {
			t.Fatal(err)
		}
		c.Apps = set
	}})
}

// sendFrame writes what realtime-pubsub-client's send() writes.
func (c *client) sendFrame(messageType string, payload any, id string) {
	c.t.Helper()
	c.send("message", map[string]any{"messageType": messageType, "payload": payload, "id": id})
}

// reply writes what realtime-pubsub-client's reply() writes for a message
// from connection to with id.
func (c *client) reply(to, id string, data any, frameID string) {
	c.t.Helper()
	c.publish("priv/"+to, "response", map[string]any{"data": data, "status": "ok", "id": id}, frameID)
}

// send() reaches the backend with the sender's connection id and subject;
// the backend's reply reaches that connection and no other.
func TestInboundRoundTrip(t *testing.T) {
	e := inboundEnv(t)
	backend := e.user(t, "backend", sub(inboundTopic))
	backend.subscribed(inboundTopic)
	ada := e.user(t, "ada", sub("news"))
	other := e.user(t, "bob", sub("news"))

	ada.sendFrame("create", map[string]any{"name": "thing"}, "m1")
	ada.expectAck("m1")
	d := backend.expectDelivery(inboundTopic, "create")
	if d.Client == nil || d.Client.ConnectionID != ada.id || d.Client.Sub != "ada" {
		t.Fatalf("client %+v, want connection %s sub ada", d.Client, ada.id)
	}
	if string(d.Payload) != `{"name":"thing"}` || d.ID == nil || *d.ID != "m1" {
		t.Fatalf("delivery payload %s id %v", d.Payload, d.ID)
	}

	backend.reply(ada.id, "m1", map[string]any{"created": "thing"}, "r1")
	backend.expectAck("r1")
	r := ada.expectDelivery("priv/"+ada.id, "response")
	var res struct {
		Data   map[string]string `json:"data"`
		Status string            `json:"status"`
		ID     string            `json:"id"`
	}
	if err := json.Unmarshal(r.Payload, &res); err != nil || res.ID != "m1" || res.Status != "ok" || res.Data["created"] != "thing" {
		t.Fatalf("reply payload %s (%v)", r.Payload, err)
	}
	other.sync() // the reply would have arrived before this ack
}

// send() without a messageType arrives as "message".
func TestInboundDefaultMessageType(t *testing.T) {
	e := inboundEnv(t)
	backend := e.user(t, "backend", sub(inboundTopic))
	backend.subscribed(inboundTopic)
	c := e.user(t, "ada")
	c.send("message", map[string]any{"payload": 1, "id": "m1"})
	c.expectAck("m1")
	backend.expectDelivery(inboundTopic, "message")
}

// Only a permission naming the inbound topic reads it or replies: a
// wildcard does not, and neither does a permission to publish to priv/*.
func TestInboundNeedsExplicitPermission(t *testing.T) {
	e := inboundEnv(t)
	wide := e.user(t, "wide", sub("*"), sub("secure/*"), pub("*"), pub("priv/*"))
	wide.subscribe(inboundTopic)
	if d := wide.expectError("forbidden"); d.Topic != inboundTopic {
		t.Fatalf("error %+v", d)
	}
	ada := e.user(t, "ada")
	wide.reply(ada.id, "x", "spoofed", "r1")
	wide.expectError("forbidden")
	ada.sync() // nothing reached ada before this ack

	// Other topics with "/" work as any topic does for the wildcard.
	wide.subscribed("rooms/lobby")
	w := e.user(t, "writer", pub("rooms/lobby"))
	w.publish("rooms/lobby", "text", "hi", "p1")
	w.expectAck("p1")
	wide.expectDelivery("rooms/lobby", "text")
}

// Without the inbound topic an app refuses send() and every reply.
func TestInboundOffByDefault(t *testing.T) {
	e := newEnv(t, envOpts{})
	backend := e.user(t, "backend", sub(inboundTopic), pub("priv/*"))
	c := e.user(t, "ada")
	c.sendFrame("create", 1, "m1")
	c.expectError("unsupported_type")
	backend.reply(c.id, "m1", 1, "r1")
	backend.expectError("forbidden")
	c.sync()
}

// A "/" topic is out of Pusher's reach: a Pusher client cannot name it.
func TestSlashTopicUnreachableFromPusher(t *testing.T) {
	e := inboundEnv(t)
	p := e.pusherConnect(t)
	p.send("pusher:subscribe", "", map[string]string{"channel": inboundTopic})
	f := p.expect("pusher:subscription_error")
	var d struct {
		Status int `json:"status"`
	}
	if err := json.Unmarshal([]byte(f.dataString(t)), &d); err != nil || d.Status != 4009 {
		t.Fatalf("subscription_error %s (%v)", f.Data, err)
	}
}
