package topics

import (
	"context"
	"slices"
	"strings"

	"gatehouse/realtime"
)

// defaultInboundType is the messageType of a send() without one.
const defaultInboundType = "message"

// inboundTopic is the app's inbound topic, "" when send() is off.
func (ss *session) inboundTopic() string {
	a := ss.srv.cfg.Apps.ByID(ss.app)
	if a == nil {
		return ""
	}
	return a.InboundTopic
}

// mayServeInbound reports whether the connection holds the explicit
// permission to subscribe to the app's inbound topic: the topic named as
// it is, not reached through a wildcard. Only such a connection (a backend)
// reads what clients send and replies to them.
func (ss *session) mayServeInbound() bool {
	in := ss.inboundTopic()
	return in != "" && slices.Contains(ss.tok.grants.Subscribe, in)
}

// inbound handles {"type":"message","data":{"messageType","payload","id"}}
// (the client's send()): the message goes to the backends subscribed to
// the app's inbound topic, with the sender's connection id and subject, and
// is acknowledged. No grant is needed to send; the app must turn it on.
func (ss *session) inbound(ctx context.Context, f frame) {
	refuse := func(code, msg string) {
		ss.sendError(&protoError{Code: code, Message: msg, ID: f.ID})
	}
	topic := ss.inboundTopic()
	if topic == "" {
		refuse(errUnsupportedType, "this app does not take inbound messages")
		return
	}
	if len(f.Payload) > ss.srv.hub.Limits().MaxMessageBytes {
		refuse(errTooLarge, "the payload exceeds the allowed maximum")
		return
	}
	if !ss.rate.Allow(ss.srv.cfg.Clock.Now(), ss.srv.rate) {
		refuse(errRateLimited, "too many messages per second")
		return
	}
	name := f.MessageType
	if name == "" || name == defaultMessageType {
		name = defaultInboundType
	}
	msg := realtime.Message{App: ss.app, Channel: topic, Name: name, Data: string(f.Payload),
		Sender: ss.id, SenderSub: ss.tok.sub, ID: f.ID}
	if err := ss.srv.hub.Publish(ctx, msg); err != nil {
		ss.srv.log.WarnContext(ctx, "topics: inbound message", "app", ss.app, "err", err)
		refuse(errServer, "the message could not be delivered")
		return
	}
	ss.ack(f.ID)
}

// reply handles a publish to priv/<connection id> by a backend serving the
// inbound topic: it reaches exactly that connection (the client's
// waitForReply()). ok is false when f is not such a publish.
func (ss *session) reply(ctx context.Context, f frame) (handled bool) {
	target, ok := strings.CutPrefix(f.Topic, topicPrivPrefix)
	if !ok || target == "" || target == "acks" || target == "errors" {
		return false
	}
	if !ss.mayServeInbound() {
		ss.sendError(&protoError{Code: errForbidden, Message: "only a backend serving the inbound topic replies to connections", Topic: clip(f.Topic), ID: f.ID})
		return true
	}
	if len(f.Payload) > ss.srv.hub.Limits().MaxMessageBytes {
		ss.sendError(&protoError{Code: errTooLarge, Message: "the payload exceeds the allowed maximum", Topic: clip(f.Topic), ID: f.ID})
		return true
	}
	msg := realtime.Message{App: ss.app, Channel: f.Topic, Name: f.MessageType, Data: string(f.Payload),
		Sender: ss.id, SenderSub: ss.tok.sub, ID: f.ID}
	if err := ss.srv.hub.SendTo(ctx, target, msg); err != nil {
		ss.srv.log.WarnContext(ctx, "topics: reply", "app", ss.app, "err", err)
		ss.sendError(&protoError{Code: errServer, Message: "the reply could not be delivered", Topic: clip(f.Topic), ID: f.ID})
		return true
	}
	ss.ack(f.ID)
	return true
}
