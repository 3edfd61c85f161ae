// Package rtbench measures a Pusher protocol 7 server from the outside: the
// memory each idle socket costs it, the CPU it spends per delivered message,
// and how long one event takes to reach many subscribers.
//
// The same client (Run) measures Gatehouse and soketi in the same run, so the
// figures compare servers, not clients. It speaks the wire protocol itself on
// raw sockets (one small reader per socket, no JSON decoding on the hot path)
// so that the client is never the bottleneck, publishes through the signed
// Pusher HTTP API, and reads the server's RSS and CPU time from /proc.
//
// cmd/loadgen is the command scripts/bench-realtime.sh runs; cmd/ghserver
// serves Gatehouse's realtime layer alone (hub, in-memory backplane, Pusher
// front) for when the gatehouse binary does not serve it.
package rtbench
