package topics

import (
	"context"
	"errors"
	"slices"

	"gatehouse/realtime"
)

// subscribe handles {"type":"subscribe","data":{"topic"}}. Success is
// silent, as the client expects, unless the frame carries an id, which is
// then acknowledged on priv/acks like a publish.
func (ss *session) subscribe(ctx context.Context, f frame) {
	refuse := func(code, msg string) {
		ss.sendError(&protoError{Code: code, Message: msg, Topic: clip(f.Topic), ID: f.ID})
	}
	if code, msg := checkTopic(f.Topic); code != "" {
		refuse(code, msg)
		return
	}
	if !ss.tok.grants.CanSubscribe(f.Topic) {
		refuse(errForbidden, "the token does not grant subscribing to this topic")
		return
	}
	if in := ss.inboundTopic(); in != "" && f.Topic == in && !ss.mayServeInbound() {
		refuse(errForbidden, "the inbound topic needs a permission that names it, not a wildcard")
		return
	}
	if slices.Contains(ss.subs, f.Topic) {
		ss.ack(f.ID)
		return
	}
	err := ss.srv.hub.Subscribe(ctx, ss, f.Topic, nil, func(res realtime.SubscribeResult) {
		// Runs before any event of the topic can reach this socket.
		ss.ack(f.ID)
		if res.Cached != nil {
			m := realtime.Message{App: ss.app, Channel: f.Topic, Name: res.Cached.Name, Data: res.Cached.Data}
			ss.ws.SendText(appendMessage(nil, &m))
		}
	})
	switch {
	case errors.Is(err, realtime.ErrTooManyChannels):
		refuse(errTooManySubs, "too many subscriptions on this connection")
		return
	case err != nil:
		ss.srv.log.WarnContext(ctx, "topics: subscribe", "app", ss.app, "topic", f.Topic, "err", err)
		refuse(errServer, "the subscription could not be completed")
		return
	}
	ss.subs = append(ss.subs, f.Topic)
}

// unsubscribe handles {"type":"unsubscribe","data":{"topic"}}; leaving a
// topic the connection is not on does nothing. No grant is needed to leave.
func (ss *session) unsubscribe(ctx context.Context, f frame) {
	if i := slices.Index(ss.subs, f.Topic); i >= 0 {
		ss.srv.hub.Unsubscribe(ctx, ss, f.Topic)
		ss.subs = slices.Delete(ss.subs, i, i+1)
	}
	ss.ack(f.ID)
}

// publish handles {"type":"publish","data":{"topic","messageType","payload",
// "compress","id"}}: checks the grant, the size and the rate, publishes on
// the hub and acknowledges. A refused publish is not acknowledged and
// reaches nobody.
func (ss *session) publish(ctx context.Context, f frame) {
	refuse := func(code, msg string) {
		ss.sendError(&protoError{Code: code, Message: msg, Topic: clip(f.Topic), ID: f.ID})
	}
	if ss.reply(ctx, f) {
		return
	}
	if code, msg := checkTopic(f.Topic); code != "" {
		refuse(code, msg)
		return
	}
	if !ss.tok.grants.CanPublish(f.Topic) {
		refuse(errForbidden, "the token does not grant publishing on this topic")
		return
	}
	if len(f.Payload) > ss.srv.hub.Limits().MaxMessageBytes {
		refuse(errTooLarge, "the payload exceeds the allowed maximum")
		return
	}
	if !ss.rate.Allow(ss.srv.cfg.Clock.Now(), ss.srv.rate) {
		refuse(errRateLimited, "too many publishes per second")
		return
	}
	msg := realtime.Message{
		App: ss.app, Channel: f.Topic, Name: f.MessageType, Data: string(f.Payload),
		Sender: ss.id, SenderSub: ss.tok.sub, ID: f.ID,
	}
	if err := ss.srv.hub.Publish(ctx, msg); err != nil {
		ss.srv.log.WarnContext(ctx, "topics: publish", "app", ss.app, "topic", f.Topic, "err", err)
		refuse(errServer, "the message could not be published")
		return
	}
	ss.ack(f.ID)
}
