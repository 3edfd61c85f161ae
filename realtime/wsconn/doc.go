// Package wsconn is the WebSocket transport of the hosted realtime layer,
// built for many idle sockets: no goroutine and no buffer per idle
// connection.
//
// Upgrade performs the handshake through a standard net/http handler (it
// hijacks the connection), negotiating permessage-deflate without context
// takeover in either direction, so every compressed message is independent:
// one compressed frame can be shared by all subscribers, and no connection
// keeps a 32 KiB window. On Linux, Serve registers the socket with an
// edge-triggered epoll instance; a goroutine exists only while a socket has
// bytes to read, using a pooled buffer. Elsewhere, and for connections that
// expose no file descriptor (TLS terminated in process), a goroutine per
// connection reads instead.
//
// Writes take pre-encoded frames (TextFrame, Frames), so a fan-out encodes a
// message once. A write is first tried without blocking in the caller's
// goroutine; what the socket does not take is queued and a short-lived
// goroutine drains it. A connection whose queue exceeds Config.SendQueue is a
// slow consumer: its queue is dropped, it gets a close frame with
// Config.SlowCloseCode and is closed, and nobody else waits for it.
package wsconn
