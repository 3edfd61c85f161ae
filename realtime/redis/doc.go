// Package redis is the realtime.Backplane for several nodes sharing one
// Redis server. Envelopes travel over Redis pub/sub on one channel, so one
// publisher's envelopes keep their order; occupancy and presence live in
// hashes and sorted sets written by Lua scripts, each node's share indexed
// under the node's name so that when a node stops beating its share is
// swept by the others; the last event of a cache channel is a key with a
// TTL. Revocations (Revocations) are kept in Redis with a TTL and mirrored
// into each node's in-process list, so a verifier never waits on Redis.
// SessionStore keeps what login sessions share across nodes: the bulky parts
// of sessions too large for a cookie, and the index from an identity
// provider's session id or subject to our session ids that back-channel
// logout needs on whichever node it lands.
//
// The package is the only importer of go-redis. It needs one Redis server
// (or a primary behind a proxy that keeps pub/sub): the Lua scripts name
// keys they compute, which Redis Cluster does not allow.
package redis
