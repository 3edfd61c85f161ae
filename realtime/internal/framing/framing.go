// Package framing turns a protocol's event encoder into the codecs its
// sockets deliver with: the JSON text once per fan-out, then one plain and
// one permessage-deflate WebSocket frame built from it, each shared by every
// subscriber that negotiated that variant.
package framing

import (
	"gatehouse/realtime"
	"gatehouse/realtime/wsconn"
)

// Codecs are one protocol's codecs.
type Codecs struct {
	// JSON renders an event's text (nil: the protocol does not deliver it).
	JSON *realtime.Codec
	// Plain and Deflate frame that text for sockets without and with
	// permessage-deflate.
	Plain, Deflate *realtime.Codec
}

// New builds the codecs of a protocol named name from its text encoder.
func New(name string, encode func(*realtime.Event) []byte) Codecs {
	c := Codecs{JSON: realtime.NewCodec(name+"-json", encode)}
	c.Plain = realtime.NewCodec(name, func(ev *realtime.Event) []byte { return c.frame(ev, false) })
	c.Deflate = realtime.NewCodec(name+"-deflate", func(ev *realtime.Event) []byte { return c.frame(ev, true) })
	return c
}

// For returns the frame codec of a socket that did or did not negotiate
// permessage-deflate.
func (c Codecs) For(deflate bool) *realtime.Codec {
	if deflate {
		return c.Deflate
	}
	return c.Plain
}

func (c Codecs) frame(ev *realtime.Event, deflate bool) []byte {
	p := ev.Encode(c.JSON)
	if p == nil {
		return nil
	}
	if deflate {
		return wsconn.CompressedTextFrame(p)
	}
	return wsconn.TextFrame(p)
}
