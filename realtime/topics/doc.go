// Package topics serves the JWT-topic protocol of the realtime-pubsub-client
// npm package (the 21no.de realtime pub/sub wire format) on the realtime
// hub, next to the Pusher protocol: topics and Pusher channels of an app are
// one namespace.
//
// The package exposes plain net/http methods, listed in its route table
// (Routes, which handlers or httpx.Mux mount), each given the path value
// and the client's IP address (after the router's trusted-proxy handling):
//
//	ServeWebSocket(w, r, appID, clientIP)     GET  /apps/{id}?access_token=JWT
//	ServeAdminPublish(w, r, appID, clientIP)  POST /api/topics/{id}/publish
//
// # Connecting
//
// The access token comes from the access_token query parameter (or an
// Authorization: Bearer header) and is checked before the upgrade: an
// unknown app is a 404, a missing, invalid, expired or revoked token a 401,
// both with a JSON body {"error","error_description"}. The first frame is
//
//	{"topic":"main","messageType":"welcome","data":{"connection":{"id","appId","remoteAddress","permissions"}}}
//
// # Frames
//
// Every frame is a JSON text frame. Clients send
//
//	{"type":"subscribe","data":{"topic"}}
//	{"type":"unsubscribe","data":{"topic"}}
//	{"type":"publish","data":{"topic","messageType","payload","compress","id"}}
//	{"type":"refresh","data":{"access_token"}}
//
// A publish is acknowledged with
// {"topic":"priv/acks","messageType":"ack","data":{"data":"<id>"}}; so is a
// subscribe, unsubscribe or refresh that carries an id. Subscribers receive
//
//	{"topic","messageType","data":{"payload","client":{"connectionId","sub"},"id"}}
//
// Subscribing needs the permission realtime:subscriber:read:topic:<glob>,
// publishing realtime:publisher:write:topic:<glob>, checked on every frame
// against the connection's current token. A refused or malformed frame is
// answered with {"topic":"priv/errors","messageType":"error",
// "data":{"code","message","topic","id"}} and has no other effect. The codes
// are invalid_message, unsupported_type, invalid_topic, reserved_topic,
// forbidden, message_too_large, rate_limited, too_many_subscriptions,
// invalid_token (refresh), subscription_revoked (refresh), token_expired and
// server_error.
//
// Topic names follow Pusher channel names (at most 200 bytes of
// [-a-zA-Z0-9_=@,.;]). main and priv/* belong to the server; #server-to-user
// and private-encrypted- channels are Pusher's alone.
//
// # Crossing protocols
//
// A hub message carries the Pusher event name as messageType and the Pusher
// data string as payload: JSON text is embedded as JSON, anything else
// becomes a JSON string. A topic publish stores its payload's JSON text as
// the data string, so Pusher clients receive the payload JSON-encoded.
//
// # Token lifetime
//
// A connection is closed when its token expires unless a refresh frame
// brings a token for the same sub and sid first; the new token's
// permissions replace the old ones. Each connection is bound to its token's
// sid and sub in the hub, so revoking the session (on any node) or
// terminating the user's connections closes it.
//
// # Not supported
//
// The client's send() (frame type "message", inbound messages to a backend
// application) and reply() (a publish to priv/<connectionId>, which
// waitForReply listens for) have nothing to reach here: both are answered on
// priv/errors. Topic names with a slash, as the client's own examples use
// (secure/inbound), are not valid channel names and are refused.
//
// # Close codes
//
//	1001 CodeGoingAway     server shutting down
//	1009 (transport)       frame larger than the message limit plus 8 KiB
//	1013 CodeTryAgain      over capacity, or the client read too slowly
//	4001 CodeTokenExpired  token expired without a refresh
//	4002 CodePongTimeout   no answer to a ping
//	4003 CodeRevoked       login session revoked
//	4004 CodeTerminated    the app terminated the user's connections
package topics
