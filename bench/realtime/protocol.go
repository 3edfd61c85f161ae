package rtbench

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Protocols Config.Protocol names.
const (
	// ProtocolPusher is Pusher protocol 7 (Gatehouse, soketi): sockets on
	// /app/{key}, events through the signed HTTP API.
	ProtocolPusher = "pusher"
	// ProtocolCentrifugo is Centrifugo's JSON protocol (v2): anonymous
	// sockets on /connection/websocket, events through /api/publish.
	ProtocolCentrifugo = "centrifugo"
)

// wire is what differs between the protocols the client speaks; the
// sockets, the timing and the figures are the same for all.
type wire interface {
	// path is the socket's path (and query) below Config.WSURL.
	path() string
	// handshake runs on a fresh socket and returns once it is subscribed
	// to channel.
	handshake(c *client, channel string) error
	// text handles one text message received at now: it calls c.received
	// for every bench event in it and returns what to send back, if
	// anything (a pong).
	text(c *client, p []byte, now time.Time) []byte
	// request builds the HTTP API request that publishes one event with
	// data (a string of digits, spaces and padding) to FanChannel.
	request(ctx context.Context, data string, now time.Time) (*http.Request, error)
	// accepted says whether the API took the event, from its answer.
	accepted(status int, body []byte) error
}

func newWire(cfg Config) (wire, error) {
	switch cfg.Protocol {
	case ProtocolPusher:
		return newPusherWire(cfg), nil
	case ProtocolCentrifugo:
		if cfg.APIKey == "" {
			return nil, fmt.Errorf("rtbench: protocol %s needs Config.APIKey", cfg.Protocol)
		}
		return newCentrifugoWire(cfg), nil
	}
	return nil, fmt.Errorf("rtbench: unknown protocol %q (want %s or %s)", cfg.Protocol, ProtocolPusher, ProtocolCentrifugo)
}
