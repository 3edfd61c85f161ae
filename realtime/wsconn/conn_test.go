package wsconn_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gobwas/ws"

	"gatehouse/realtime/internal/wstest"
	"gatehouse/realtime/wsconn"
)

// echo sends every message back and reports closes.
type echo struct {
	closed chan error
}

func (e *echo) OnMessage(c *wsconn.Conn, data []byte) { c.SendText(append([]byte(nil), data...)) }
func (e *echo) OnClose(c *wsconn.Conn, err error)     { e.closed <- err }

type server struct {
	*httptest.Server
	tr    *wsconn.Transport
	conns chan *wsconn.Conn
	h     *echo
}

func newServer(t *testing.T, cfg wsconn.Config) *server {
	t.Helper()
	tr, err := wsconn.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{tr: tr, conns: make(chan *wsconn.Conn, 16), h: &echo{closed: make(chan error, 16)}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := tr.Upgrade(w, r)
		if err != nil {
			return
		}
		s.conns <- c
		tr.Serve(c, s.h)
	}))
	t.Cleanup(func() { s.Close(); _ = tr.Close() })
	return s
}

func (s *server) url() string { return "ws" + strings.TrimPrefix(s.URL, "http") }

func TestEcho(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "deflate"}[compress], func(t *testing.T) {
			s := newServer(t, wsconn.Config{Compression: true})
			c := wstest.Dial(t, s.url(), wstest.Options{Compress: compress})
			if c.Compressed != compress {
				t.Fatalf("negotiated compression %v, want %v (%q)", c.Compressed, compress, c.Extensions)
			}
			if compress && !strings.Contains(c.Extensions, "client_no_context_takeover") {
				t.Fatalf("extensions %q lack client_no_context_takeover", c.Extensions)
			}
			long := strings.Repeat("{\"hello\":\"world\"}", 200)
			for _, msg := range []string{"hi", long, "", "ünïcödé"} {
				c.WriteText(t, msg)
				if got := c.ReadText(t); got != msg {
					t.Fatalf("echo %q, want %q", got, msg)
				}
			}
		})
	}
}

func TestCompressionRefusedWhenDisabled(t *testing.T) {
	s := newServer(t, wsconn.Config{})
	c := wstest.Dial(t, s.url(), wstest.Options{Compress: true})
	if c.Compressed {
		t.Fatal("compression negotiated although disabled")
	}
}

func TestFragmentsAndPing(t *testing.T) {
	s := newServer(t, wsconn.Config{})
	c := wstest.Dial(t, s.url(), wstest.Options{})
	for _, f := range []ws.Frame{
		ws.NewFrame(ws.OpText, false, []byte("frag")),
		ws.NewPingFrame([]byte("p")),
		ws.NewFrame(ws.OpContinuation, false, []byte("men")),
		ws.NewFrame(ws.OpContinuation, true, []byte("ted")),
	} {
		if err := c.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	m, err := c.Read()
	if err != nil || m.Op != ws.OpPong || string(m.Data) != "p" {
		t.Fatalf("want pong, got %+v %v", m, err)
	}
	if got := c.ReadText(t); got != "fragmented" {
		t.Fatalf("got %q", got)
	}
}

func TestCloseHandshake(t *testing.T) {
	s := newServer(t, wsconn.Config{})
	c := wstest.Dial(t, s.url(), wstest.Options{})
	c.WriteText(t, "x")
	c.ReadText(t)
	if err := c.WriteFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye"))); err != nil {
		t.Fatal(err)
	}
	code, _, _ := c.ExpectClose(t)
	if code != 1000 {
		t.Fatalf("close code %d", code)
	}
	if err := <-s.h.closed; err != nil {
		t.Fatalf("OnClose err %v, want nil", err)
	}
}

func TestServerClose(t *testing.T) {
	s := newServer(t, wsconn.Config{})
	c := wstest.Dial(t, s.url(), wstest.Options{})
	sc := <-s.conns
	sc.SendText([]byte("last words"))
	sc.Close(4200, "reconnect")
	if sc.Send(wsconn.TextFrame([]byte("late"))) {
		t.Fatal("Send after Close accepted")
	}
	code, reason, before := c.ExpectClose(t)
	if code != 4200 || reason != "reconnect" || len(before) != 1 || before[0] != "last words" {
		t.Fatalf("close %d %q after %q", code, reason, before)
	}
	<-s.h.closed
}

func TestProtocolViolations(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		code  int
	}{
		{"unmasked", wsconn.TextFrame([]byte("x")), 1002},
		{"too big", nil, 1009},
		{"rsv1 without deflate", []byte{0xC1, 0x81, 0, 0, 0, 0, 'x'}, 1002},
		{"stray continuation", []byte{0x80, 0x81, 0, 0, 0, 0, 'x'}, 1002},
		{"reserved opcode", []byte{0x83, 0x80, 0, 0, 0, 0}, 1002},
		{"close code 1005 (reserved)", []byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xED}, 1002},
		{"close code 999", []byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE7}, 1002},
		{"close code 5000", []byte{0x88, 0x82, 0, 0, 0, 0, 0x13, 0x88}, 1002},
		{"one-byte close payload", []byte{0x88, 0x81, 0, 0, 0, 0, 0x03}, 1002},
		{"invalid UTF-8 in a close reason", []byte{0x88, 0x84, 0, 0, 0, 0, 0x03, 0xE8, 0xC3, 0x28}, 1007},
		{"invalid UTF-8 in a text frame", []byte{0x81, 0x82, 0, 0, 0, 0, 0xC3, 0x28}, 1007},
		{"invalid UTF-8 across fragments", []byte{0x01, 0x81, 0, 0, 0, 0, 0xE2, 0x80, 0x82, 0, 0, 0, 0, 0x82, 0x28}, 1007},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, wsconn.Config{MaxMessageBytes: 16})
			c := wstest.Dial(t, s.url(), wstest.Options{})
			var err error
			if tt.frame == nil {
				err = c.WriteFrame(ws.NewTextFrame([]byte(strings.Repeat("a", 17))))
			} else {
				_, err = c.Conn.Write(tt.frame)
			}
			if err != nil {
				t.Fatal(err)
			}
			if code, _, _ := c.ExpectClose(t); code != tt.code {
				t.Fatalf("close code %d, want %d", code, tt.code)
			}
			if err := <-s.h.closed; err == nil {
				t.Fatal("OnClose reported no error")
			}
		})
	}
}

func TestPeerVanishes(t *testing.T) {
	s := newServer(t, wsconn.Config{})
	c := wstest.Dial(t, s.url(), wstest.Options{})
	<-s.conns
	_ = c.Conn.Close()
	if err := <-s.h.closed; err == nil {
		t.Fatal("OnClose reported no error for a vanished peer")
	}
}

// A client that never reads is dropped; one that reads keeps receiving.
func TestSlowConsumerDropped(t *testing.T) {
	s := newServer(t, wsconn.Config{SendQueue: 8, SlowCloseCode: 4200, SlowCloseReason: "slow"})
	slow := wstest.Dial(t, s.url(), wstest.Options{})
	slowConn := <-s.conns
	fast := wstest.Dial(t, s.url(), wstest.Options{})
	fastConn := <-s.conns

	frame := wsconn.TextFrame([]byte(strings.Repeat("x", 16<<10)))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the fast client reads everything it is sent
		defer wg.Done()
		for {
			m, err := fast.Read()
			if err != nil || m.Op != ws.OpText {
				return
			}
		}
	}()
	sent := 0
	for slowConn.Send(frame) {
		sent++
		if !fastConn.Send(frame) {
			t.Fatal("fast consumer dropped")
		}
		if sent > 100000 {
			t.Fatal("slow consumer never dropped")
		}
	}
	if err := <-s.h.closed; err != wsconn.ErrSlow {
		t.Fatalf("slow close err %v", err)
	}
	for { // whatever reached the slow client ends in 4200 or a reset, never garbage
		m, err := slow.Read()
		if err != nil {
			break
		}
		if m.Op == ws.OpClose {
			if m.Code != 4200 {
				t.Fatalf("slow client closed with %d", m.Code)
			}
			break
		}
	}
	if !fastConn.Send(wsconn.TextFrame([]byte("still here"))) {
		t.Fatal("fast consumer refused after the slow one was dropped")
	}
	fastConn.Close(1000, "")
	wg.Wait()
}
