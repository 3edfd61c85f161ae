// Package realtime is the hub of the hosted realtime layer: apps, channels,
// subscriptions, presence members, fan-out, limits, and revocation of live
// connections by login session or user.
//
// The hub knows no wire format. Protocol packages (realtime/pusher for the
// Pusher Channels protocol, realtime/topics for the JWT-topic protocol)
// implement Conn for each socket, turn client frames into hub calls, and turn
// each delivered Event into bytes with a Codec. An Event caches the bytes of
// every Codec that asked for it, so a message is encoded once per fan-out and
// protocol, not once per subscriber.
//
// Every change that other nodes must see travels through a Backplane as an
// Envelope: published messages, presence joins and leaves, session bindings
// and user terminations. Revocations do not: the hub subscribes to the
// process's revocation list (revocation.Watcher), which hears of a logout
// made on any node, and closes the session's sockets of this node. Cluster-wide state (channel occupancy,
// presence members, the last event of cache channels) lives behind the same
// interface. realtime/memory is the in-process implementation;
// realtime/backplanetest is the conformance suite every implementation must
// pass.
package realtime
