// Package pushersig computes and checks the signatures of the Pusher Channels
// protocol: channel authorization (private, presence and encrypted
// channels), user authentication (pusher:signin), the shared secret of
// end-to-end encrypted channels, and the request signature of the Pusher HTTP
// API.
//
// It is a leaf package that imports only the standard library, so both the
// authorization endpoints and the hosted realtime server can use it. Every
// comparison of a signature is constant-time (hmac.Equal).
package pushersig
