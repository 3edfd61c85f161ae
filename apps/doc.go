// Package apps holds the hosted apps: one App per configured app, decoded
// and validated once (New) and shared by everything that serves an app: the
// Pusher auth front signs with its credentials, the Pusher server and the
// topic server host its channels. It imports only pusherproto (webhook
// event names), so every front can use it.
package apps
