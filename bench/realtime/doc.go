// Package rtbench measures a realtime WebSocket server from the outside: the
// memory each idle socket costs it, the CPU it spends per delivered message,
// and how long one event takes to reach many subscribers.
//
// The same client (Run) measures Gatehouse, soketi and Centrifugo in the same
// run, so the figures compare servers, not clients. It speaks the wire
// protocol itself on raw sockets (one small reader per socket, no JSON
// decoding on the hot path) so that the client is never the bottleneck, and
// reads the server's RSS and CPU time from /proc. What differs per protocol
// (wire) is small: the socket path, the handshake that leaves a socket
// subscribed, how a message is read, and how an event is published —
// through the signed Pusher HTTP API (Pusher protocol 7: Gatehouse, soketi)
// or Centrifugo's /api/publish with an API key (Centrifugo's JSON protocol,
// anonymous sockets; centrifugo.json is the server config the benchmark
// runs it with).
//
// cmd/loadgen is the command scripts/bench-realtime.sh runs; cmd/ghserver
// serves Gatehouse's realtime layer alone (hub, in-memory backplane, Pusher
// front) for when the gatehouse binary does not serve it.
package rtbench
