package pusher

import (
	"context"
	"encoding/json"

	"gatehouse/pusherproto"
	"gatehouse/realtime"
)

// maxEventName is the longest event name accepted.
const maxEventName = 200

// clientEvent relays a client-* event to the other subscribers of a private
// or presence channel, as pusher-js's channel.trigger sends it.
func (ss *session) clientEvent(ctx context.Context, f clientFrame) {
	ch := f.Channel
	switch t := pusherproto.TypeOf(ch); {
	case !ss.app.ClientEvents:
		ss.sendError(CodeClientEventError, "To send client events, you must enable this feature in the Settings page of your dashboard.")
		return
	case ch == "" || !(t == pusherproto.Private || t == pusherproto.Presence):
		ss.sendError(CodeClientEventError, "Client events are only supported on private and presence channels.")
		return
	case !ss.srv.hub.Subscribed(ss, ch):
		ss.sendError(CodeClientEventError, "Client event rejected: not subscribed to the channel.")
		return
	case len(f.Event) > maxEventName:
		ss.sendError(CodeClientEventError, "Event name is too long.")
		return
	}
	data := dataString(f.Data)
	if len(data) > ss.srv.hub.Limits().MaxMessageBytes {
		ss.sendError(CodeClientEventError, "The data content of this event exceeds the allowed maximum.")
		return
	}
	if !ss.rate.Allow(ss.srv.cfg.Now(), ss.srv.hub.Limits().ClientEventsPerSecond) {
		ss.sendError(CodeClientEventError, "Client event rejected due to rate limit.")
		return
	}
	// The socket id stays out of the message (no Sender): it is a secret
	// of the socket's owner, and topic subscribers would see it.
	msg := realtime.Message{App: ss.app.ID, Channel: ch, Name: f.Event, Data: data, UserID: ss.presence[ch], Except: ss.id, SenderSub: ss.user}
	if err := ss.srv.hub.Publish(ctx, msg); err != nil {
		ss.srv.log.WarnContext(ctx, "pusher: client event", "app", ss.app.ID, "channel", ch, "err", err)
		return
	}
	ss.srv.hooks.add(ss.app, hookEvent{Name: pusherproto.WebhookClientEvent, Channel: ch, Event: f.Event, Data: data, SocketID: ss.id, UserID: ss.presence[ch]})
}

type signinData struct {
	Auth     string `json:"auth"`
	UserData string `json:"user_data"`
}

// signin handles pusher:signin (user authentication); a bad signature is
// refused with 4009 and the socket closed, as Pusher does.
func (ss *session) signin(raw []byte) {
	var d signinData
	if err := json.Unmarshal(raw, &d); err != nil || !pusherproto.VerifyUserAuth(ss.app.Key, ss.app.Secret, ss.id, d.UserData, d.Auth) {
		ss.refuseSignin()
		return
	}
	var ud struct {
		ID  json.RawMessage `json:"id"`
		SID string          `json:"sid"`
	}
	if err := json.Unmarshal([]byte(d.UserData), &ud); err != nil {
		ss.refuseSignin()
		return
	}
	id := userIDString(ud.ID)
	if id == "" || len(id) > 200 {
		ss.refuseSignin()
		return
	}
	// The user data is signed for this socket and presented by it: its
	// session (when /pusher/user-auth put one in) owns the socket now.
	if err := ss.srv.hub.Bind(ss, ud.SID, id); err != nil {
		ss.refuseSignin()
		return
	}
	ss.user = id
	ss.ws.SendText(eventJSON("pusher:signin_success", "", `{"user_data":`+string(appendString(nil, d.UserData))+`}`))
}

func (ss *session) refuseSignin() {
	ss.ws.SendText(errorJSON(CodeUnauthorized, "Invalid signature"))
	ss.ws.Close(CodeUnauthorized, "Invalid signature")
}
