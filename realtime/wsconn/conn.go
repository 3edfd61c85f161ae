package wsconn

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrSlow is the close error of a connection dropped as a slow consumer.
var ErrSlow = errors.New("wsconn: slow consumer")

const (
	stateOpen = iota
	stateClosing
	stateClosed
)

// Conn is a server-side WebSocket connection.
type Conn struct {
	t        *Transport
	nc       net.Conn
	raw      syscall.RawConn // nil: blocking reads
	fd       int
	compress bool
	h        Handler

	mu          sync.Mutex
	state       int
	queue       [][]byte
	headPartial bool // queue[0] is the rest of a frame partly written
	writing     bool
	deadline    time.Time // cap on write deadlines once closing
	closeErr    error
	closed      atomic.Bool
	peerClosed  bool // the peer's close frame arrived
	lingering   bool // our close frame is out; waiting for the peer's

	// reading side, owned by the single active reader
	readers  atomic.Int32
	lastRead atomic.Int64
	partial  []byte
	frag     []byte
	fragOp   byte
	fragZ    bool
	inFrag   bool
}

// Compressed reports whether the connection negotiated permessage-deflate.
func (c *Conn) Compressed() bool { return c.compress }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// LastRead returns when bytes last arrived from the peer.
func (c *Conn) LastRead() time.Time { return time.Unix(0, c.lastRead.Load()) }

// Closed reports whether the connection is closed or closing.
func (c *Conn) Closed() bool { return c.closed.Load() }

// Send queues frame, a complete WebSocket frame (TextFrame,
// CompressedTextFrame), without blocking. frame is not modified and may be
// shared. It reports false when the connection is closing or the frame made
// it a slow consumer.
func (c *Conn) Send(frame []byte) bool {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return false
	}
	if !c.writing && c.raw != nil {
		n, err := c.tryWrite(frame)
		if err != nil {
			c.mu.Unlock()
			c.shutdown(err)
			return false
		}
		if n == len(frame) {
			c.mu.Unlock()
			return true
		}
		if n > 0 {
			frame = frame[n:]
			c.headPartial = true
		}
	}
	if len(c.queue) >= c.t.cfg.SendQueue {
		c.slowLocked()
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, frame)
	c.startFlushLocked()
	c.mu.Unlock()
	return true
}

// SendText frames payload as a text message (compressed when negotiated)
// and queues it like Send.
func (c *Conn) SendText(payload []byte) bool {
	if c.compress {
		return c.Send(CompressedTextFrame(payload))
	}
	return c.Send(TextFrame(payload))
}

// Close sends a close frame with code and reason after the frames already
// queued, then closes the connection. Later Sends are refused.
func (c *Conn) Close(code int, reason string) {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.state = stateClosing
	c.closed.Store(true)
	c.deadline = time.Now().Add(c.t.cfg.WriteTimeout)
	c.queue = append(c.queue, CloseFrame(code, reason))
	c.startFlushLocked()
	c.mu.Unlock()
}

// slowLocked drops what is queued but not yet being written, keeps framing
// intact, and closes with the slow-consumer code within a short grace.
func (c *Conn) slowLocked() {
	c.state = stateClosing
	c.closed.Store(true)
	c.closeErr = ErrSlow
	keep := c.queue[:0]
	if c.headPartial && len(c.queue) > 0 {
		keep = append(keep, c.queue[0])
	}
	c.queue = append(keep, CloseFrame(c.t.cfg.SlowCloseCode, c.t.cfg.SlowCloseReason))
	c.deadline = time.Now().Add(time.Second)
	_ = c.nc.SetWriteDeadline(c.deadline)
	c.startFlushLocked()
}

func (c *Conn) startFlushLocked() {
	if !c.writing {
		c.writing = true
		go c.flush()
	}
}

// flush drains the queue with blocking writes; it runs only while there is
// something to write.
func (c *Conn) flush() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.writing = false
			closing := c.state == stateClosing
			err := c.closeErr
			c.mu.Unlock()
			if closing {
				c.finishClose(err)
			}
			return
		}
		bufs := net.Buffers(c.queue)
		c.queue = nil
		c.headPartial = false
		dl := time.Now().Add(c.t.cfg.WriteTimeout)
		if !c.deadline.IsZero() && c.deadline.Before(dl) {
			dl = c.deadline
		}
		c.mu.Unlock()
		_ = c.nc.SetWriteDeadline(dl)
		if _, err := bufs.WriteTo(c.nc); err != nil {
			c.mu.Lock()
			if c.closeErr != nil {
				err = c.closeErr
			}
			c.mu.Unlock()
			c.shutdown(err)
			return
		}
	}
}

// closeLinger bounds how long a connection we closed waits for the peer's
// close frame after sending its own.
const closeLinger = 2 * time.Second

// finishClose ends a connection whose close frame is written. When the
// close is ours, the socket is half-closed and kept reading (frames are
// dropped) until the peer answers with its close frame, hangs up, or
// closeLinger passes: closing at once while the peer is still sending would
// make the kernel reset the connection, and the peer would lose our close
// frame and its code (RFC 6455 §7.1.1: the server closes the TCP connection
// after the closing handshake).
func (c *Conn) finishClose(err error) {
	c.mu.Lock()
	peer := c.peerClosed
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if peer || !ok || c.state != stateClosing {
		c.mu.Unlock()
		c.shutdown(err)
		return
	}
	c.lingering = true
	c.mu.Unlock()
	if cw.CloseWrite() != nil {
		c.shutdown(err)
		return
	}
	time.AfterFunc(closeLinger, func() { c.shutdown(err) })
}

// shutdown closes the socket once and reports it to the handler.
func (c *Conn) shutdown(err error) {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return
	}
	c.state = stateClosed
	c.closed.Store(true)
	c.queue = nil
	if c.closeErr != nil {
		err = c.closeErr
	}
	c.closeErr = err
	h := c.h
	c.mu.Unlock()
	if c.t.poller != nil && c.raw != nil {
		c.t.poller.remove(c)
	}
	_ = c.nc.Close()
	if h != nil {
		go h.OnClose(c, err)
	}
}
