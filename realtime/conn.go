package realtime

// Conn is one live client connection as the hub sees it. Protocol packages
// implement it.
//
// Deliver and Disconnect are called from the hub's fan-out and must neither
// block nor call back into the Hub: a connection that cannot keep up drops
// itself (Pusher: close code 4200/4201) and unregisters from its own
// goroutine.
type Conn interface {
	// ID is the connection id (the Pusher socket_id), unique in the cluster.
	ID() string
	// Deliver queues ev for the client.
	Deliver(ev *Event)
	// Disconnect closes the connection for reason.
	Disconnect(reason Reason)
}

// Reason says why the hub disconnects a connection.
type Reason int

// Reasons for Disconnect.
const (
	// ReasonRevoked: the login session the connection was opened with was
	// revoked (logout, back-channel logout).
	ReasonRevoked Reason = iota + 1
	// ReasonTerminated: the app terminated the user's connections.
	ReasonTerminated
	// ReasonShutdown: the node is shutting down; the client should reconnect
	// elsewhere.
	ReasonShutdown
	// ReasonSlow: the client did not read fast enough.
	ReasonSlow
	// ReasonResync: events of one of the connection's channels may have
	// been lost between nodes; the client should reconnect and fetch what
	// it needs again.
	ReasonResync
)

// String returns a short name for the reason.
func (r Reason) String() string {
	switch r {
	case ReasonRevoked:
		return "session revoked"
	case ReasonTerminated:
		return "connections terminated"
	case ReasonShutdown:
		return "server shutting down"
	case ReasonSlow:
		return "client too slow"
	case ReasonResync:
		return "events may have been missed"
	}
	return "unknown"
}
