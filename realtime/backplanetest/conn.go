package backplanetest

import (
	"sync"
	"testing"
	"time"

	"gatehouse/realtime"
)

// Conn is a realtime.Conn for tests: it records the events the hub hands it,
// their encoding by Codec (when set) and why it was disconnected.
type Conn struct {
	// Name is the connection id.
	Name string
	// Codec, when set, encodes every delivered event into Frames.
	Codec *realtime.Codec
	// Events and Frames receive what was delivered.
	Events chan *realtime.Event
	Frames chan string
	// Gone receives the reason of the first Disconnect.
	Gone chan realtime.Reason
	once sync.Once
}

var _ realtime.Conn = (*Conn)(nil)

// NewConn returns a connection with id and an optional codec.
func NewConn(id string, codec *realtime.Codec) *Conn {
	return &Conn{Name: id, Codec: codec, Events: make(chan *realtime.Event, 64), Frames: make(chan string, 64), Gone: make(chan realtime.Reason, 1)}
}

// ID implements realtime.Conn.
func (c *Conn) ID() string { return c.Name }

// Deliver implements realtime.Conn.
func (c *Conn) Deliver(ev *realtime.Event) {
	c.Events <- ev
	if c.Codec != nil {
		c.Frames <- string(ev.Encode(c.Codec))
	}
}

// Disconnect implements realtime.Conn.
func (c *Conn) Disconnect(r realtime.Reason) { c.once.Do(func() { c.Gone <- r }) }

// Next returns the next delivered event, failing the test after Wait.
func (c *Conn) Next(t *testing.T) *realtime.Event {
	t.Helper()
	select {
	case ev := <-c.Events:
		return ev
	case <-time.After(Wait):
		t.Fatalf("%s: no event", c.Name)
		return nil
	}
}

// None fails the test if an event was delivered.
func (c *Conn) None(t *testing.T) {
	t.Helper()
	select {
	case ev := <-c.Events:
		t.Fatalf("%s: unexpected event %+v", c.Name, ev)
	default:
	}
}

// Disconnected waits for the connection to be disconnected for want, within
// 1 s (README, "Hosting the realtime layer").
func (c *Conn) Disconnected(t *testing.T, want realtime.Reason) {
	t.Helper()
	select {
	case r := <-c.Gone:
		if r != want {
			t.Fatalf("%s: disconnected for %v, want %v", c.Name, r, want)
		}
	case <-time.After(time.Second):
		t.Fatalf("%s: not disconnected within 1s", c.Name)
	}
}
