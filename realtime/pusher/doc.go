// Package pusher serves the Pusher Channels protocol 7 on the realtime hub,
// so that unmodified pusher-js 8 clients and the Pusher server SDKs work
// against Gatehouse: the WebSocket endpoint (GET /app/{key}), the HTTP API
// (/apps/{id}/...) and the webhooks sent to each app.
//
// The package exposes plain net/http methods, listed in its route table
// (Routes, which handlers or httpx.Mux mount), each given the path values
// and the client's IP address (after the router's trusted-proxy handling):
//
//	ServeWebSocket(w, r, appKey, clientIP)        GET  /app/{key}
//	ServeEvents(w, r, appID, clientIP)            POST /apps/{id}/events
//	ServeBatchEvents(w, r, appID, clientIP)       POST /apps/{id}/batch_events
//	ServeChannels(w, r, appID, clientIP)          GET  /apps/{id}/channels
//	ServeChannel(w, r, appID, name, clientIP)     GET  /apps/{id}/channels/{name}
//	ServeChannelUsers(w, r, appID, name, clientIP) GET /apps/{id}/channels/{name}/users
//	ServeTerminateUser(w, r, appID, userID, clientIP) POST /apps/{id}/users/{uid}/terminate_connections
//
// Channel authorization signatures are checked here with pusherproto
// (constant-time); deciding who may have one is the job of the /pusher/auth
// endpoint, which calls Server.BindSession so that revoking the login
// session closes the socket on whichever node holds it.
package pusher
