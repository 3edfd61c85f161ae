package rtbench

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// serverFrame encodes one unmasked server frame.
func serverFrame(t *testing.T, op ws.OpCode, fin bool, p string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := ws.WriteFrame(&b, ws.NewFrame(op, fin, []byte(p))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPollerConsumeSplit feeds a stream of frames to the epoll reader's
// parser cut at every possible size: each bench event is counted once, a
// fragmented message is put together around the ping inside it, and each
// ping gets one pong on the socket.
func TestPollerConsumeSplit(t *testing.T) {
	event := func(seq int) string {
		return `{"event":"bench","channel":"public-bench-fan","data":"` + benchData(seq) + `"}`
	}
	long := `{"event":"bench","channel":"public-bench-fan","data":"` + benchData(2) + strings.Repeat("y", 300) + `"}`
	frag := event(3)
	var stream []byte
	stream = append(stream, serverFrame(t, ws.OpText, true, event(1))...)
	stream = append(stream, serverFrame(t, ws.OpPing, true, "p")...)
	stream = append(stream, serverFrame(t, ws.OpText, true, long)...) // 16-bit length
	stream = append(stream, serverFrame(t, ws.OpText, false, frag[:10])...)
	stream = append(stream, serverFrame(t, ws.OpPing, true, "q")...)
	stream = append(stream, serverFrame(t, ws.OpContinuation, true, frag[10:])...)
	stream = append(stream, serverFrame(t, ws.OpText, true, `{"event":"other"}`)...)

	for size := 1; size <= len(stream); size++ {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		f := &fleet{wire: newPusherWire(Config{})}
		f.recording.Store(true)
		c := &client{f: f, fd: fds[0]}
		p := &poller{f: f, conns: map[int32]*client{int32(fds[0]): c}}
		for off := 0; off < len(stream); off += size {
			p.consume(c, stream[off:min(off+size, len(stream))], sentAt.Add(time.Second))
		}
		if got := f.delivered.Load(); got != 3 {
			t.Fatalf("size %d: %d bench events, want 3", size, got)
		}
		if len(c.lat) != 3 || c.lat[0].seq != 1 || c.lat[1].seq != 2 || c.lat[2].seq != 3 {
			t.Fatalf("size %d: samples %+v", size, c.lat)
		}
		if len(c.pend) != 0 || f.dropped.Load() != 0 {
			t.Fatalf("size %d: %d bytes left, %d dropped", size, len(c.pend), f.dropped.Load())
		}
		buf := make([]byte, 256)
		n, _ := unix.Read(fds[1], buf)
		pongs := 0
		for b := buf[:n]; len(b) > 0; {
			h, err := ws.ReadHeader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if h.OpCode == ws.OpPong {
				pongs++
			}
			b = b[2+4+int(h.Length):] // short length, masked
		}
		if pongs != 2 {
			t.Fatalf("size %d: %d pongs, want 2", size, pongs)
		}
		unix.Close(fds[0])
		unix.Close(fds[1])
	}
}

// TestParseFrameRefuses checks that a frame the client did not negotiate
// drops the socket instead of being misread.
func TestParseFrameRefuses(t *testing.T) {
	masked := serverFrame(t, ws.OpText, true, "x")
	masked[1] |= 0x80
	compressed := serverFrame(t, ws.OpText, true, "x")
	compressed[0] |= 0x40
	huge := []byte{0x82, 127, 0, 0, 0, 0, 0x10, 0, 0, 0}
	for name, b := range map[string][]byte{"masked": masked, "compressed": compressed, "over 16 MiB": huge} {
		if _, _, _, _, err := parseFrame(b); err == nil {
			t.Errorf("%s frame: no error", name)
		}
	}
	if _, _, _, n, err := parseFrame([]byte{0x81, 126, 1}); n != 0 || err != nil {
		t.Errorf("partial extended length: n %d, err %v", n, err)
	}
}

// TestLatencyRunAllocatesNothing: with room made for the samples, reading
// and timing a delivery through the epoll reader's parser allocates
// nothing (recording samples into a growing slice allocated, and the
// client's garbage collector then ran inside the latency run).
func TestLatencyRunAllocatesNothing(t *testing.T) {
	const events = 100
	f := &fleet{wire: newPusherWire(Config{})}
	c := &client{f: f, fd: -1, channel: FanChannel}
	f.conns = []*client{c}
	f.roomForSamples(events)
	f.recording.Store(true)
	p := &poller{f: f}
	msg := serverFrame(t, ws.OpText, true, `{"event":"bench","channel":"public-bench-fan","data":"`+benchData(1)+`"}`)
	now := sentAt.Add(time.Second)
	// One warm-up call and one measured call of half the deliveries each:
	// the measured figure is every allocation of its 50 deliveries.
	allocs := testing.AllocsPerRun(1, func() {
		for range events / 2 {
			p.consume(c, msg, now)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.0f allocations in %d deliveries", allocs, events/2)
	}
	if len(c.lat) != events {
		t.Fatalf("%d samples, want %d", len(c.lat), events)
	}
}

// TestAdoptEndedSocket: a socket whose bytes read during the handshake end
// it (the server closed it) is dropped once and never registered with
// epoll (it was registered after its descriptor was closed, failed, and
// was counted and closed a second time).
func TestAdoptEndedSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		s, _ := ln.Accept()
		accepted <- s
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if s := <-accepted; s != nil {
			s.Close()
		}
	}()
	f := &fleet{wire: newPusherWire(Config{})}
	p, err := newPoller(f)
	if err != nil {
		t.Fatal(err)
	}
	f.poller = p
	defer p.close()
	c := &client{f: f, nc: nc, fd: -1}
	c.pend = append(c.pend, serverFrame(t, ws.OpClose, true, "\x03\xe8bye")...)
	if err := p.adopt(c); err != nil {
		t.Fatalf("adopt: %v", err)
	}
	if n := f.dropped.Load(); n != 1 || !c.gone {
		t.Fatalf("dropped %d, gone %v; want 1, true", n, c.gone)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.conns) != 0 {
		t.Fatalf("an ended socket is in the poller: %v", p.conns)
	}
}
