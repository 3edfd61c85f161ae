// Package pusherproto is the vocabulary of the Pusher Channels protocol that
// more than one part of Gatehouse speaks: channel names and what their
// prefixes mean, socket ids, the signatures of channel authorization (private,
// presence and encrypted channels), user authentication (pusher:signin), the
// shared secret of end-to-end encrypted channels, and the request signature of
// the Pusher HTTP API and of webhooks.
//
// It is a leaf package that imports only the standard library, so the Pusher
// auth front, the hosted Pusher server, the topic server (topics and Pusher
// channels are one namespace) and the hub (cache channels) share one
// definition of each. Every comparison of a signature is constant-time
// (hmac.Equal).
package pusherproto
