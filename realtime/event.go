package realtime

import (
	"encoding/json"
	"sync"
	"sync/atomic"
)

// Kind says what an Envelope or Event carries.
type Kind string

// Kinds of envelopes. Publish, MemberAdded and MemberRemoved reach
// connections as Events; the others act on connections.
const (
	KindPublish       Kind = "publish"
	KindMemberAdded   Kind = "member_added"
	KindMemberRemoved Kind = "member_removed"
	KindBindSession   Kind = "bind_session"
	// KindRevokeSession was how earlier versions spread a revocation; the
	// revocation list does it now. Hubs ignore it, so a cluster can be
	// upgraded one node at a time.
	KindRevokeSession  Kind = "revoke_session"
	KindTerminateUser  Kind = "terminate_user"
	KindTerminateConns Kind = "terminate_conns"
	// KindResync is handed to a node by its own backplane (it never
	// crosses nodes) when envelopes of Message.App/Channel may have been
	// lost: the node's subscribers of that channel must start over.
	KindResync Kind = "resync"
	// KindLifecycle is handed to a node by its own backplane (it never
	// crosses nodes) when the node removed the share of a node that died:
	// the channel change Message.Name (a LifecycleKind) of
	// Message.App/Channel (and UserID) is the node's to report, once.
	KindLifecycle Kind = "lifecycle"
	// KindDirect carries Message to the one connection Conn of
	// Message.App, wherever it is (a backend's reply to an inbound
	// message).
	KindDirect Kind = "direct"
)

// IsChannelKind reports whether envelopes of kind concern one channel and
// reach only the nodes that watch it.
func IsChannelKind(k Kind) bool {
	return k == KindPublish || k == KindMemberAdded || k == KindMemberRemoved
}

// Message is an event published on a channel of an app.
type Message struct {
	// App is the app id; channels of different apps never meet.
	App string `json:"app"`
	// Channel is the channel (or topic) name.
	Channel string `json:"channel"`
	// Name is the event name (Pusher) or message type (topics).
	Name string `json:"name"`
	// Data is the payload, passed on byte for byte.
	Data string `json:"data"`
	// UserID is the sender's user id, set for client events on presence
	// channels.
	UserID string `json:"user_id,omitempty"`
	// Except is the id of a connection that must not receive the message
	// (the sender of a client event, or socket_id of the HTTP API).
	Except string `json:"except,omitempty"`
	// Sender is the connection id of the publisher when a client published
	// (topics report it to subscribers); empty for the HTTP API.
	Sender string `json:"sender,omitempty"`
	// SenderSub is the subject of the publishing connection, when known.
	SenderSub string `json:"sender_sub,omitempty"`
	// ID is a publisher-chosen message id (topics), empty otherwise.
	ID string `json:"id,omitempty"`
}

// Member is one user present on a presence channel.
type Member struct {
	// UserID identifies the user; several sockets may share it.
	UserID string `json:"user_id"`
	// UserInfo is the user's JSON info as the app signed it, or nil.
	UserInfo json.RawMessage `json:"user_info,omitempty"`
}

// Event is what a Conn receives: a published message or a presence change.
// One Event is shared by every local subscriber of a fan-out; use Encode to
// get its wire bytes, computed once per Codec.
type Event struct {
	// Kind is KindPublish, KindMemberAdded or KindMemberRemoved.
	Kind Kind
	// Message holds the channel and, for KindPublish, the payload. For member
	// events Message.UserID is the member.
	Message
	// UserInfo is the member's info on KindMemberAdded.
	UserInfo json.RawMessage

	// parts, when set, makes the Event a run of events of one channel
	// delivered together: its bytes are theirs back to back, so a socket
	// gets several frames in one write (see Hub.handleBatch).
	parts []*Event

	mu  sync.Mutex
	enc []encoded
	// first is enc[0] once set, read without the lock: most fan-outs use
	// one codec, and the goroutines sharing one would otherwise take turns
	// on mu for every socket.
	first atomic.Pointer[encoded]
}

type encoded struct {
	codec *Codec
	b     []byte
}

// Parts returns the events a run delivers together (nil for a single
// event).
func (e *Event) Parts() []*Event { return e.parts }

// Codec turns Events into the wire bytes of one protocol variant (for
// example Pusher frames, with or without permessage-deflate). Create one per
// variant with NewCodec and keep it for the life of the process.
type Codec struct {
	name   string
	encode func(*Event) []byte
}

// NewCodec returns a Codec named name that encodes with fn. fn may return nil
// for events its protocol does not deliver.
func NewCodec(name string, fn func(*Event) []byte) *Codec {
	return &Codec{name: name, encode: fn}
}

// Name returns the codec's name.
func (c *Codec) Name() string { return c.name }

// Encode returns the bytes of e under c, encoding them on the first call only.
// A codec may call Encode with another codec (a framing codec on top of a
// payload codec). The result is shared: callers must not modify it.
func (e *Event) Encode(c *Codec) []byte {
	if x := e.first.Load(); x != nil && x.codec == c {
		return x.b
	}
	e.mu.Lock()
	for _, x := range e.enc {
		if x.codec == c {
			e.mu.Unlock()
			return x.b
		}
	}
	e.mu.Unlock()
	var b []byte
	if e.parts != nil {
		for _, p := range e.parts {
			b = append(b, p.Encode(c)...)
		}
	} else {
		b = c.encode(e)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, x := range e.enc {
		if x.codec == c { // a concurrent caller was first
			return x.b
		}
	}
	e.enc = append(e.enc, encoded{codec: c, b: b})
	if len(e.enc) == 1 {
		e.first.Store(&encoded{codec: c, b: b})
	}
	return b
}
