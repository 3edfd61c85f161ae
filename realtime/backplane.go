package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrPresenceFull is returned when a new user would exceed a presence
// channel's member limit.
var ErrPresenceFull = errors.New("realtime: presence channel is full")

// ChannelKey names a channel of an app.
type ChannelKey struct {
	App     string `json:"app"`
	Channel string `json:"channel"`
}

// Envelope is what nodes exchange through the Backplane. Implementations
// may serialise it with encoding/json.
type Envelope struct {
	// Kind says what the envelope carries and which fields are set.
	Kind Kind `json:"kind"`
	// Origin is the node id of the sender.
	Origin string `json:"origin"`
	// Message is set for KindPublish; App and Channel for member events.
	Message Message `json:"message"`
	// UserID is the member (member events) or the user (KindTerminateUser).
	UserID string `json:"user_id,omitempty"`
	// UserInfo is the member's info (KindMemberAdded).
	UserInfo json.RawMessage `json:"user_info,omitempty"`
	// Conn is the connection id (KindBindSession) or the connection to leave
	// out (member events).
	Conn string `json:"conn,omitempty"`
	// SID is the login session id (KindBindSession; KindRevokeSession of
	// earlier versions).
	SID string `json:"sid,omitempty"`
}

// CachedEvent is the last event published on a cache channel.
type CachedEvent struct {
	Name string `json:"name"`
	Data string `json:"data"`
}

// Backplane carries envelopes between the nodes of a cluster and keeps the
// state that only makes sense cluster-wide. Implementations must be safe for
// concurrent use. Counts are kept per node so that an implementation can
// drop the share of a node that died.
type Backplane interface {
	// Publish sends env to every subscribed handler of every node, the
	// sender's included. Envelopes from one Publish caller arrive in order.
	Publish(ctx context.Context, env Envelope) error
	// Subscribe registers h for every envelope published from now on, by
	// any node, that concerns this node: envelopes of a channel (publishes,
	// member events) reach it while it watches the channel (Watch); the
	// others always. h must not block for long. The returned function stops
	// the delivery; after it returns h is not called again.
	//
	// A backplane that finds it may have missed envelopes of watched
	// channels (a gap beyond what it can resume) hands h a KindResync
	// envelope for each such channel, so its subscribers can start over.
	Subscribe(ctx context.Context, h func(Envelope)) (stop func(), err error)
	// Watch declares interest in the envelopes of key: once it returns,
	// every envelope of key published afterwards reaches this node. Calls
	// are counted; each successful Watch is paired with one Unwatch.
	Watch(ctx context.Context, key ChannelKey) error
	// Unwatch drops one Watch of key. It must not block.
	Unwatch(key ChannelKey)

	// Occupy adds delta (+1 or -1) to the number of subscriptions node holds
	// on key and returns the cluster-wide total after the change.
	Occupy(ctx context.Context, key ChannelKey, node string, delta int) (total int, err error)
	// Channels returns the occupied channels of app whose names start with
	// prefix, with their cluster-wide subscription counts.
	Channels(ctx context.Context, app, prefix string) (map[string]int, error)

	// PresenceAdd records connection conn of node as member m of key.
	// added reports whether m.UserID had no connection on key before. When
	// the user is new and max > 0 members are already present, it records
	// nothing and returns ErrPresenceFull.
	PresenceAdd(ctx context.Context, key ChannelKey, node, conn string, m Member, max int) (added bool, err error)
	// PresenceRemove forgets connection conn of node as a connection of
	// userID on key. removed reports whether the user has no connection
	// left on key.
	PresenceRemove(ctx context.Context, key ChannelKey, node, conn, userID string) (removed bool, err error)
	// PresenceMembers returns the members of key, each user once, in the
	// order they joined.
	PresenceMembers(ctx context.Context, key ChannelKey) ([]Member, error)

	// CacheSet stores ev as the last event of cache channel key for ttl.
	CacheSet(ctx context.Context, key ChannelKey, ev CachedEvent, ttl time.Duration) error
	// CacheGet returns the last event of cache channel key, if one is kept.
	CacheGet(ctx context.Context, key ChannelKey) (ev CachedEvent, ok bool, err error)

	// HistoryAppend adds ev to key's history, keeping the last limit
	// events and none older than ttl (0: no age limit).
	HistoryAppend(ctx context.Context, key ChannelKey, ev HistoryEvent, limit int, ttl time.Duration) error
	// HistoryRange returns up to limit of key's events older than before
	// ("" for the newest) and younger than ttl at now, oldest first.
	HistoryRange(ctx context.Context, key ChannelKey, limit int, before string, ttl time.Duration, now time.Time) ([]HistoryEvent, error)

	// Ping reports whether the backplane answers (readiness).
	Ping(ctx context.Context) error
	// Close releases the backplane's resources.
	Close() error
}

// BatchSubscriber is a Backplane that can hand envelopes on in batches:
// the envelopes that queued while the previous batch was delivered, in
// order. A hub then writes a run of events of one channel to each socket
// at once. h must not keep envs.
type BatchSubscriber interface {
	SubscribeBatch(ctx context.Context, h func(envs []Envelope)) (stop func(), err error)
}
