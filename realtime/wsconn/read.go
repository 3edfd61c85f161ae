package wsconn

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// readBufSize is the pooled buffer one read pass uses; bigger frames get a
// buffer of their own for the time it takes to receive them.
const readBufSize = 16 << 10

var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// Errors that close a connection from the reading side.
var (
	ErrProtocol = errors.New("wsconn: protocol error")
	// errInvalidUTF8 is a text message (or close reason) that is not
	// UTF-8 (RFC 6455 §8.1: fail with 1007).
	errInvalidUTF8 = errors.New("wsconn: invalid UTF-8 in a text message")
	errPeerGone    = errors.New("wsconn: connection closed by peer")
)

// readable runs when the poller reports the socket readable. At most one
// reader runs per connection; events during a pass trigger another pass.
func (c *Conn) readable() {
	if c.readers.Add(1) != 1 {
		return
	}
	go func() {
		for {
			n := c.readers.Load()
			c.readPass()
			if c.readers.Add(-n) == 0 {
				return
			}
		}
	}()
}

// readPass reads what the socket has without blocking and handles every
// complete frame; an incomplete tail is kept in c.partial.
func (c *Conn) readPass() {
	if c.closed.Load() && c.stateIs(stateClosed) {
		return
	}
	bp := readBufs.Get().(*[]byte)
	buf := append((*bp)[:0], c.partial...)
	c.partial = nil
	for {
		if len(buf) == cap(buf) {
			buf = grow(buf)
		}
		n, err := c.readNonBlocking(buf[len(buf):cap(buf)])
		if n > 0 {
			c.lastRead.Store(time.Now().UnixNano())
			buf = buf[:len(buf)+n]
			used, perr := c.consume(buf)
			if perr != nil {
				c.fail(perr)
				break
			}
			buf = buf[:copy(buf, buf[used:])]
		}
		if err == errWouldBlock {
			if len(buf) > 0 {
				c.partial = append([]byte(nil), buf...)
			}
			break
		}
		if err != nil {
			c.shutdown(err)
			break
		}
	}
	if cap(*bp) == readBufSize {
		readBufs.Put(bp)
	}
}

// readBlocking is the reader of connections the poller does not watch.
func (c *Conn) readBlocking() {
	buf := append(make([]byte, 0, 4096), c.partial...)
	c.partial = nil
	for {
		if len(buf) > 0 {
			used, err := c.consume(buf)
			if err != nil {
				c.fail(err)
				return
			}
			buf = buf[:copy(buf, buf[used:])]
		}
		if c.stateIs(stateClosed) {
			return
		}
		if len(buf) == cap(buf) {
			buf = grow(buf)
		}
		n, err := c.nc.Read(buf[len(buf):cap(buf)])
		if n > 0 {
			c.lastRead.Store(time.Now().UnixNano())
			buf = buf[:len(buf)+n]
		}
		if err != nil {
			if n > 0 {
				if _, perr := c.consume(buf); perr != nil {
					c.fail(perr)
					return
				}
			}
			if errors.Is(err, io.EOF) {
				err = errPeerGone
			}
			c.shutdown(err)
			return
		}
	}
}

func grow(b []byte) []byte {
	nb := make([]byte, len(b), 2*cap(b)+readBufSize)
	copy(nb, b)
	return nb
}

func (c *Conn) stateIs(s int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == s
}

// fail closes the connection for a protocol violation.
func (c *Conn) fail(err error) {
	code := CloseProtocolError
	switch {
	case errors.Is(err, errTooBig):
		code = CloseTooBig
	case errors.Is(err, errInvalidUTF8):
		code = CloseInvalidData
	}
	c.mu.Lock()
	if c.closeErr == nil {
		c.closeErr = err
	}
	c.mu.Unlock()
	c.Close(code, "")
	c.mu.Lock()
	if c.state == stateClosing && c.deadline.After(time.Now().Add(time.Second)) {
		c.deadline = time.Now().Add(time.Second)
	}
	c.mu.Unlock()
}

// consume handles every complete frame at the start of b and returns how
// many bytes it used.
func (c *Conn) consume(b []byte) (int, error) {
	used := 0
	for {
		h, hlen, ok, err := parseHeader(b[used:], int64(c.t.cfg.MaxMessageBytes))
		if err != nil {
			return used, err
		}
		if !ok || int64(len(b)-used-hlen) < h.Length {
			return used, nil
		}
		payload := b[used+hlen : used+hlen+int(h.Length)]
		ws.Cipher(payload, h.Mask, 0)
		used += hlen + int(h.Length)
		if err := c.frame(h, payload); err != nil {
			return used, err
		}
		if c.stateIs(stateClosed) {
			return used, nil
		}
	}
}

// parseHeader decodes a client frame header; ok is false until the whole
// header is in b.
func parseHeader(b []byte, limit int64) (h ws.Header, n int, ok bool, err error) {
	if len(b) < 2 {
		return h, 0, false, nil
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] & 0x70) >> 4
	h.OpCode = ws.OpCode(b[0] & 0x0F)
	if b[1]&0x80 == 0 {
		return h, 0, false, ErrProtocol // client frames must be masked
	}
	n = 2
	switch l := b[1] & 0x7F; l {
	case 126:
		if len(b) < 4 {
			return h, 0, false, nil
		}
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, false, nil
		}
		u := binary.BigEndian.Uint64(b[2:])
		if u > uint64(limit) {
			return h, 0, false, errTooBig
		}
		h.Length = int64(u)
		n = 10
	default:
		h.Length = int64(l)
	}
	if h.Length > limit {
		return h, 0, false, errTooBig
	}
	if len(b) < n+4 {
		return h, 0, false, nil
	}
	copy(h.Mask[:], b[n:n+4])
	return h, n + 4, true, nil
}

// frame handles one unmasked frame.
func (c *Conn) frame(h ws.Header, p []byte) error {
	op := byte(h.OpCode)
	rsv1 := h.Rsv&0x4 != 0
	if h.Rsv&0x3 != 0 || rsv1 && (!c.compress || op == opContinuation || op >= opClose) {
		return ErrProtocol
	}
	switch op {
	case opPing:
		if !h.Fin || len(p) > 125 {
			return ErrProtocol
		}
		c.Send(controlFrame(opPong, p))
		return nil
	case opPong:
		return nil
	case opClose:
		code := CloseNormal
		switch {
		case len(p) == 1:
			return ErrProtocol
		case len(p) >= 2:
			code = int(binary.BigEndian.Uint16(p))
			if !validCloseCode(code) {
				return ErrProtocol
			}
			if !utf8.Valid(p[2:]) {
				return errInvalidUTF8
			}
		}
		c.mu.Lock()
		c.peerClosed = true
		lingering := c.lingering
		if c.closeErr == nil {
			c.closeErr = errPeerGone
			if code == CloseNormal || code == CloseGoingAway {
				c.closeErr = nil
			}
		}
		c.mu.Unlock()
		if lingering {
			// The answer to our close: the handshake is complete.
			c.shutdown(nil)
			return nil
		}
		c.Close(code, "")
		return nil
	case opText, opBinary:
		if c.inFrag {
			return ErrProtocol
		}
		if h.Fin {
			return c.deliver(p, rsv1, op == opText)
		}
		c.inFrag, c.fragOp, c.fragZ = true, op, rsv1
		c.frag = append(c.frag[:0], p...)
		return nil
	case opContinuation:
		if !c.inFrag {
			return ErrProtocol
		}
		if len(c.frag)+len(p) > c.t.cfg.MaxMessageBytes {
			return errTooBig
		}
		c.frag = append(c.frag, p...)
		if !h.Fin {
			return nil
		}
		msg, z, text := c.frag, c.fragZ, c.fragOp == opText
		c.inFrag, c.frag = false, nil
		return c.deliver(msg, z, text)
	}
	return ErrProtocol
}

func (c *Conn) deliver(p []byte, compressed, text bool) error {
	if compressed {
		var err error
		if p, err = decompress(p, c.t.cfg.MaxMessageBytes); err != nil {
			if errors.Is(err, errTooBig) {
				return err
			}
			return ErrProtocol
		}
	}
	if text && !utf8.Valid(p) {
		return errInvalidUTF8
	}
	if c.closed.Load() {
		return nil
	}
	c.h.OnMessage(c, p)
	return nil
}

// validCloseCode reports whether a peer may send code in a close frame
// (RFC 6455 §7.4): the defined codes but 1004-1006 and 1015, and the
// registered (3000-3999) and private (4000-4999) ranges.
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}
