package pusherproto

import "strings"

// Channel name prefixes with a meaning. Topics and Pusher channels are one
// namespace, so these mean the same on every protocol Gatehouse hosts.
const (
	// PrefixPrivate starts a private channel: subscribing needs a channel
	// authorization.
	PrefixPrivate = "private-"
	// PrefixPresence starts a presence channel: subscribing needs a channel
	// authorization carrying the member's channel_data.
	PrefixPresence = "presence-"
	// PrefixEncrypted starts an end-to-end encrypted private channel; only
	// clients holding its shared secret can read or write its payloads.
	PrefixEncrypted = "private-encrypted-"
	// PrefixServer starts every channel the server reserves for itself
	// ("#"); clients never name one in their own right.
	PrefixServer = "#"
	// PrefixServerToUser starts the one server channel defined so far: the
	// channel a signed-in user receives server-to-user events on, followed
	// by the user id.
	PrefixServerToUser = PrefixServer + "server-to-user-"
)

// ChannelType is what a channel's name makes it.
type ChannelType uint8

// Channel types, by prefix (the longest prefix decides).
const (
	// Public channels need no authorization.
	Public ChannelType = iota
	// Private channels ("private-") need a channel authorization.
	Private
	// Presence channels ("presence-") need a channel authorization with
	// channel_data.
	Presence
	// Encrypted channels ("private-encrypted-") need a channel authorization
	// and the app's encryption master key.
	Encrypted
	// ServerToUser is "#server-to-user-<user id>".
	ServerToUser
	// Server is any other "#" channel: reserved, no client may use it.
	Server
)

// TypeOf returns the type of channel name. It does not check that name is
// valid (ValidChannelName).
func TypeOf(name string) ChannelType {
	switch {
	case strings.HasPrefix(name, PrefixEncrypted):
		return Encrypted
	case strings.HasPrefix(name, PrefixPrivate):
		return Private
	case strings.HasPrefix(name, PrefixPresence):
		return Presence
	case strings.HasPrefix(name, PrefixServerToUser):
		return ServerToUser
	case strings.HasPrefix(name, PrefixServer):
		return Server
	}
	return Public
}

// NeedsAuth reports whether subscribing to a channel of type t needs a
// channel authorization (private, presence and encrypted channels).
func (t ChannelType) NeedsAuth() bool { return t == Private || t == Presence || t == Encrypted }

// IsPrivate reports whether t is private in the wide sense: "private-"
// channels, encrypted ones included.
func (t ChannelType) IsPrivate() bool { return t == Private || t == Encrypted }

// cachePrefixes start the cache channels, whose last event is replayed to
// new subscribers.
var cachePrefixes = [...]string{"cache-", "private-cache-", "presence-cache-", "private-encrypted-cache-"}

// IsCacheChannel reports whether name is a cache channel (cache-,
// private-cache-, presence-cache- or private-encrypted-cache-), whose last
// event is replayed to new subscribers on every protocol.
func IsCacheChannel(name string) bool {
	for _, p := range cachePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
