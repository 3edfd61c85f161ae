package rtbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// EventName is the name of every event the benchmark publishes.
const EventName = "bench"

// markData opens an event's data string in every protocol's JSON.
var markData = []byte(`"data":"`)

// fleet is every client socket and what they measured.
type fleet struct {
	wire      wire
	delivered atomic.Int64 // bench events received, all sockets
	messages  atomic.Int64 // text messages received, all sockets
	dropped   atomic.Int64 // sockets the server closed or lost
	recording atomic.Bool  // record latencies of bench events now
	firstDrop atomic.Value // string: why the first socket went away

	// sources are local addresses to dial from, in turn (none: the
	// kernel's choice).
	sources []string
	dials   atomic.Uint64
	// hold, while set, stops every socket before its next read (the
	// kernel's buffers keep what arrives).
	hold atomic.Pointer[chan struct{}]

	// poller reads the sockets when Config.Reader is ReaderEpoll (nil: a
	// goroutine per socket).
	poller *poller

	mu    sync.Mutex
	conns []*client
}

// pause stops the sockets' reads: each finishes the read it is in, then
// waits for resume.
func (f *fleet) pause() {
	ch := make(chan struct{})
	f.hold.Store(&ch)
}

// resume lets the sockets read again.
func (f *fleet) resume() {
	if ch := f.hold.Swap(nil); ch != nil {
		close(*ch)
	}
}

// sample is one timed delivery of event seq.
type sample struct {
	seq int
	lat time.Duration
}

// client is one socket.
type client struct {
	f       *fleet
	nc      net.Conn
	br      *bufio.Reader
	channel string
	buf     []byte
	lat     []sample // latencies recorded while f.recording
	closing atomic.Bool

	// With the epoll reader: the socket's descriptor once adopted (nc and
	// br are nil then), bytes of an incomplete frame, the opcode of the
	// message being reassembled, and whether the socket ended.
	fd    int
	pend  []byte
	msgOp ws.OpCode
	gone  bool // the poller dropped it
}

// dial opens a socket to url and runs the protocol's handshake, which
// leaves it subscribed to channel. The socket then reads in a goroutine of
// its own until closed.
func (f *fleet) dial(ctx context.Context, url, channel string) (*client, error) {
	d := ws.Dialer{ReadBufferSize: 2048, Timeout: 10 * time.Second}
	if len(f.sources) > 0 {
		d.NetDial = f.dialSource
	}
	nc, br, _, err := d.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	c := &client{f: f, nc: nc, channel: channel, fd: -1}
	if br != nil {
		c.br = br // holds bytes the server sent right after the handshake
	} else {
		c.br = bufio.NewReaderSize(nc, 2048)
	}
	_ = nc.SetDeadline(time.Now().Add(15 * time.Second))
	if err := f.wire.handshake(c, channel); err != nil {
		_ = nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	f.mu.Lock()
	f.conns = append(f.conns, c)
	f.mu.Unlock()
	if f.poller != nil {
		if err := f.poller.adopt(c); err != nil {
			c.drop(err.Error())
			return nil, err
		}
		return c, nil
	}
	go c.loop()
	return c, nil
}

// await reads messages until one contains mark; one that contains fail is
// the server's refusal.
func (c *client) await(mark, fail []byte) error {
	for {
		op, p, err := c.read()
		if err != nil {
			return err
		}
		if op != ws.OpText {
			continue
		}
		if bytes.Contains(p, fail) {
			return fmt.Errorf("server error: %s", p)
		}
		if bytes.Contains(p, mark) {
			return nil
		}
	}
}

// roundTrip sends msg and awaits the answer that contains want (fail: the
// server's refusal).
func (c *client) roundTrip(msg string, want, fail []byte) error {
	if err := c.writeText([]byte(msg)); err != nil {
		return err
	}
	return c.await(want, fail)
}

// loop reads the socket until it closes.
func (c *client) loop() {
	for {
		if h := c.f.hold.Load(); h != nil {
			<-*h
		}
		op, p, err := c.read()
		if err != nil {
			if !c.closing.Load() {
				c.drop(err.Error())
			}
			return
		}
		if !c.handle(op, p, time.Now()) {
			return
		}
	}
}

// handle acts on one server message received at now; false means the
// socket is done.
func (c *client) handle(op ws.OpCode, p []byte, now time.Time) bool {
	switch op {
	case ws.OpClose:
		if !c.closing.Load() {
			code := 0
			if len(p) >= 2 {
				code = int(binary.BigEndian.Uint16(p))
			}
			c.drop(fmt.Sprintf("server closed with %d %q", code, p[min(2, len(p)):]))
		}
		return false
	case ws.OpPing:
		_ = c.write(ws.OpPong, append([]byte(nil), p...))
	case ws.OpText:
		c.f.messages.Add(1)
		if reply := c.f.wire.text(c, p, now); reply != nil {
			_ = c.writeText(reply)
		}
	}
	return true
}

func (c *client) drop(why string) {
	c.f.dropped.Add(1)
	c.f.firstDrop.CompareAndSwap(nil, why)
	c.close()
}

// close closes the socket, whoever reads it.
func (c *client) close() {
	if c.fd >= 0 {
		_ = unix.Close(c.fd)
		return
	}
	_ = c.nc.Close()
}

// received counts one bench event and, while the fleet records, times it.
// data is the event's data from its first byte on ("<seq> <unix nanos>
// <padding>", what publish sends); nil when the message had none.
func (c *client) received(data []byte, now time.Time) {
	if c.f.recording.Load() {
		seq, d, ok1 := leadingInt(data)
		sent, _, ok2 := leadingInt(d)
		if ok1 && ok2 {
			c.lat = append(c.lat, sample{seq: int(seq), lat: now.Sub(time.Unix(0, sent))})
		}
	}
	c.f.delivered.Add(1)
}

// leadingInt parses the decimal number at the start of b and returns it
// with the rest of b after one separating space.
func leadingInt(b []byte) (int64, []byte, bool) {
	var n int64
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int64(b[i]-'0')
		i++
	}
	if i == 0 {
		return 0, b, false
	}
	if i < len(b) && b[i] == ' ' {
		i++
	}
	return n, b[i:], true
}

// read returns the next complete message (or control frame) from the server.
// The payload is valid until the next read.
func (c *client) read() (ws.OpCode, []byte, error) {
	c.buf = c.buf[:0]
	var op ws.OpCode
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return 0, nil, err
		}
		fin := h[0]&0x80 != 0
		fop := ws.OpCode(h[0] & 0x0F)
		if h[0]&0x70 != 0 {
			return 0, nil, errors.New("compressed or reserved bits set; compression was not offered")
		}
		if h[1]&0x80 != 0 {
			return 0, nil, errors.New("masked server frame")
		}
		n := int64(h[1] & 0x7F)
		switch n {
		case 126:
			var e [2]byte
			if _, err := io.ReadFull(c.br, e[:]); err != nil {
				return 0, nil, err
			}
			n = int64(binary.BigEndian.Uint16(e[:]))
		case 127:
			var e [8]byte
			if _, err := io.ReadFull(c.br, e[:]); err != nil {
				return 0, nil, err
			}
			n = int64(binary.BigEndian.Uint64(e[:]))
			if n > 16<<20 {
				return 0, nil, errors.New("frame too large")
			}
		}
		start := len(c.buf)
		if need := start + int(n); need > cap(c.buf) {
			nb := make([]byte, start, need+512)
			copy(nb, c.buf)
			c.buf = nb
		}
		c.buf = c.buf[:start+int(n)]
		if _, err := io.ReadFull(c.br, c.buf[start:]); err != nil {
			return 0, nil, err
		}
		if fop.IsControl() {
			if fop == ws.OpPing {
				_ = c.write(ws.OpPong, append([]byte(nil), c.buf[start:]...))
				c.buf = c.buf[:start]
				continue
			}
			return fop, c.buf[start:], nil
		}
		if fop != ws.OpContinuation {
			op = fop
		}
		if fin {
			return op, c.buf, nil
		}
	}
}

// writeText sends one text message.
func (c *client) writeText(p []byte) error { return c.write(ws.OpText, p) }

// write sends one masked client frame.
func (c *client) write(op ws.OpCode, p []byte) error {
	var b bytes.Buffer
	if err := ws.WriteFrame(&b, ws.MaskFrameInPlace(ws.NewFrame(op, true, p))); err != nil {
		return err
	}
	if c.fd >= 0 {
		return rawWrite(c.fd, b.Bytes())
	}
	_, err := c.nc.Write(b.Bytes())
	return err
}

// closeAll closes every socket without waiting for the server.
func (f *fleet) closeAll() {
	f.mu.Lock()
	conns := f.conns
	f.conns = nil
	f.mu.Unlock()
	if f.poller != nil {
		f.poller.close()
	}
	for _, c := range conns {
		c.closing.Store(true)
		c.close()
	}
}
