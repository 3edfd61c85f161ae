package wsconn_test

import (
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"gatehouse/realtime/internal/wstest"
	"gatehouse/realtime/wsconn"
)

// A server closing a client that is still sending (a flood being told to
// back off) must still get its close frame and code to the client: closing
// the socket with unread data would make the kernel reset the connection.
func TestCloseReachesAPeerThatKeepsSending(t *testing.T) {
	s := newServer(t, wsconn.Config{})
	c := wstest.Dial(t, s.url(), wstest.Options{})
	sc := <-s.conns
	// The client sends far more than the server reads before it closes.
	// (WriteFrame masks in place: each frame is built afresh.)
	payload := strings.Repeat("x", 1024)
	for range 2000 {
		if err := c.WriteFrame(ws.NewTextFrame([]byte(payload))); err != nil {
			t.Fatal(err)
		}
	}
	sc.Close(4100, "back off")
	for range 500 { // and goes on sending after the close
		if err := c.WriteFrame(ws.NewTextFrame([]byte(payload))); err != nil {
			break
		}
	}
	code, reason := expectCloseQuietly(t, c)
	if code != 4100 || reason != "back off" {
		t.Fatalf("close %d %q", code, reason)
	}
	<-s.h.closed
}

// expectCloseQuietly reads to the close frame without keeping what came
// before it (the echoes of a flood), and answers it.
func expectCloseQuietly(t *testing.T, c *wstest.Client) (int, string) {
	t.Helper()
	n := 0
	for {
		m, err := c.Read()
		if err != nil {
			t.Fatalf("waiting for close after %d messages: %v", n, err)
		}
		if m.Op == ws.OpClose {
			_ = c.WriteFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
			return m.Code, m.Reason
		}
		n++
	}
}
