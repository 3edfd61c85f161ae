package framing

import (
	"bytes"
	"testing"

	"gatehouse/realtime"
	"gatehouse/realtime/wsconn"
)

// The text of an event is encoded once, however many frame variants and
// subscribers ask for it.
func TestEncodesOncePerEvent(t *testing.T) {
	calls := 0
	c := New("test", func(ev *realtime.Event) []byte {
		calls++
		return []byte(`{"x":1}`)
	})
	ev := &realtime.Event{Kind: realtime.KindPublish}
	plain1, plain2 := ev.Encode(c.For(false)), ev.Encode(c.For(false))
	deflate := ev.Encode(c.For(true))
	if calls != 1 {
		t.Fatalf("encoder ran %d times, want 1", calls)
	}
	if !bytes.Equal(plain1, wsconn.TextFrame([]byte(`{"x":1}`))) || &plain1[0] != &plain2[0] {
		t.Fatal("plain frame not shared")
	}
	if !bytes.Equal(deflate, wsconn.CompressedTextFrame([]byte(`{"x":1}`))) {
		t.Fatal("deflate frame differs")
	}
	skip := New("skip", func(*realtime.Event) []byte { return nil })
	if skip.For(true) == nil || ev.Encode(skip.For(true)) != nil {
		t.Fatal("an event the protocol does not deliver must encode to nil")
	}
}
