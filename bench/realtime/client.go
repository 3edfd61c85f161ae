package rtbench

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"slices"
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
	channel string
	lat     []sample // latencies recorded while f.recording
	closing atomic.Bool

	// pend is the bytes read and not yet parsed (a slice of rest, or of
	// the epoll reader's buffer while it parses); rest is this socket's
	// own storage for them. buf puts a fragmented message together, msgOp
	// is its opcode.
	pend  []byte
	rest  []byte
	buf   []byte
	msgOp ws.OpCode

	// With the epoll reader: the socket's descriptor once adopted (nc is
	// nil then), and whether the socket ended.
	fd   int
	gone bool // the poller dropped it
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
	c := &client{f: f, nc: nc, channel: channel, fd: -1, rest: make([]byte, 0, 2048)}
	if br != nil { // holds bytes the server sent right after the handshake
		b, _ := br.Peek(br.Buffered())
		c.rest = append(c.rest, b...)
		c.pend = c.rest
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

// next takes the next message or control frame from the bytes read so
// far; ok is false when they end inside one. Pings are answered here, and
// a fragmented message is put together in c.buf. The payload is valid
// until the next call.
func (c *client) next() (op ws.OpCode, p []byte, ok bool, err error) {
	for {
		fop, fin, payload, n, err := parseFrame(c.pend)
		if err != nil || n == 0 {
			return 0, nil, false, err
		}
		c.pend = c.pend[n:]
		switch {
		case fop == ws.OpPing:
			_ = c.write(ws.OpPong, append([]byte(nil), payload...))
		case fop.IsControl():
			return fop, payload, true, nil
		case fop != ws.OpContinuation && fin:
			return fop, payload, true, nil
		default:
			if fop != ws.OpContinuation {
				c.msgOp = fop
				c.buf = c.buf[:0]
			}
			c.buf = append(c.buf, payload...)
			if fin {
				return c.msgOp, c.buf, true, nil
			}
		}
	}
}

// keep moves the unparsed bytes into the socket's own storage (they may
// be in a buffer about to be reused), at its start.
func (c *client) keep() {
	c.rest = append(c.rest[:0], c.pend...)
	c.pend = c.rest
}

// read returns the next message or control frame from the net.Conn (the
// handshake, and the goroutine reader). The payload is valid until the
// next read.
func (c *client) read() (ws.OpCode, []byte, error) {
	for {
		op, p, ok, err := c.next()
		if err != nil {
			return 0, nil, err
		}
		if ok {
			return op, p, nil
		}
		c.keep()
		if cap(c.rest)-len(c.rest) < 1024 {
			c.rest = slices.Grow(c.rest, max(2048, len(c.rest)))
		}
		n, err := c.nc.Read(c.rest[len(c.rest):cap(c.rest)])
		c.rest = c.rest[:len(c.rest)+n]
		c.pend = c.rest
		if n == 0 && err != nil {
			return 0, nil, err
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
