// Package wstest is a small WebSocket client for the realtime tests: it
// speaks real frames over a real socket, with or without permessage-deflate,
// and reads close frames as values.
package wstest

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// Wait bounds every read, as a guard against a hung test (not as
// synchronisation).
const Wait = 5 * time.Second

// Client is a test WebSocket client.
type Client struct {
	Conn       net.Conn
	br         io.Reader
	Compressed bool
	// Extensions is the server's Sec-WebSocket-Extensions answer.
	Extensions string
}

// Options tune Dial.
type Options struct {
	// Compress offers permessage-deflate.
	Compress bool
	// Header is sent with the handshake.
	Header http.Header
}

// Dial connects to a ws:// URL.
func Dial(t testing.TB, url string, opt Options) *Client {
	t.Helper()
	c, err := DialErr(url, opt)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.Conn.Close() })
	return c
}

// DialErr is Dial returning the error.
func DialErr(url string, opt Options) (*Client, error) {
	c := &Client{}
	d := ws.Dialer{Timeout: Wait}
	if opt.Header != nil {
		d.Header = ws.HandshakeHeaderHTTP(opt.Header)
	}
	if opt.Compress {
		d.Extensions = []httphead.Option{wsflate.DefaultParameters.Option()}
	}
	conn, br, hs, err := d.Dial(context.Background(), url)
	if err != nil {
		return nil, err
	}
	for _, e := range hs.Extensions {
		if bytes.Equal(e.Name, wsflate.ExtensionNameBytes) {
			c.Compressed = true
		}
		c.Extensions += e.String()
	}
	c.Conn = conn
	c.br = conn
	if br != nil {
		c.br = io.MultiReader(br, conn)
	}
	return c, nil
}

// Message is one message read from the server.
type Message struct {
	Op         ws.OpCode
	Data       []byte
	Compressed bool
	// Code and Reason are set for a close frame.
	Code   int
	Reason string
}

// MaxFrame bounds the payload of one frame a test client accepts.
const MaxFrame = 1 << 20

// ReadFrame reads one frame with a bounded payload: the length the peer
// declares is checked before anything is allocated.
func ReadFrame(r io.Reader) (ws.Frame, error) {
	h, err := ws.ReadHeader(r)
	if err != nil {
		return ws.Frame{}, err
	}
	if h.Length > MaxFrame {
		return ws.Frame{}, fmt.Errorf("wstest: frame of %d bytes over %d", h.Length, MaxFrame)
	}
	f := ws.Frame{Header: h, Payload: make([]byte, h.Length)}
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		return ws.Frame{}, err
	}
	if h.Masked {
		ws.Cipher(f.Payload, h.Mask, 0)
	}
	return f, nil
}

// ErrTimeout is returned by Read when nothing arrived within Wait.
var ErrTimeout = errors.New("wstest: read timeout")

// Read returns the next message (fragments joined, deflate undone).
func (c *Client) Read() (Message, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(Wait))
	var m Message
	for {
		f, err := ReadFrame(c.br)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return m, ErrTimeout
			}
			return m, err
		}
		switch f.Header.OpCode {
		case ws.OpClose:
			m.Op = ws.OpClose
			if len(f.Payload) >= 2 {
				m.Code = int(binary.BigEndian.Uint16(f.Payload))
				m.Reason = string(f.Payload[2:])
			}
			return m, nil
		case ws.OpPing, ws.OpPong:
			if f.Header.OpCode == ws.OpPing {
				_ = c.WriteFrame(ws.NewPongFrame(f.Payload))
			}
			m.Op = f.Header.OpCode
			m.Data = f.Payload
			return m, nil
		case ws.OpText, ws.OpBinary:
			m.Op = f.Header.OpCode
			m.Compressed = f.Header.Rsv1()
		}
		m.Data = append(m.Data, f.Payload...)
		if f.Header.Fin {
			break
		}
	}
	if m.Compressed {
		r := flate.NewReader(io.MultiReader(bytes.NewReader(m.Data), bytes.NewReader([]byte{0, 0, 0xff, 0xff})))
		out, err := io.ReadAll(r)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return m, err
		}
		m.Data = out
	}
	return m, nil
}

// ReadText reads the next message and fails the test unless it is text.
func (c *Client) ReadText(t testing.TB) string {
	t.Helper()
	m, err := c.Read()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if m.Op != ws.OpText {
		t.Fatalf("read: got opcode %v (close %d %q), want text", m.Op, m.Code, m.Reason)
	}
	return string(m.Data)
}

// ExpectClose reads until a close frame, answers it with a close frame and
// returns its code and reason; text messages before it are returned too.
func (c *Client) ExpectClose(t testing.TB) (code int, reason string, before []string) {
	t.Helper()
	for {
		m, err := c.Read()
		if err != nil {
			t.Fatalf("waiting for close: %v (after %q)", err, before)
		}
		if m.Op == ws.OpClose {
			// Answer as a real client does (RFC 6455 §5.5.1), completing
			// the closing handshake.
			code := ws.StatusCode(m.Code)
			if code == 0 {
				code = ws.StatusNormalClosure
			}
			_ = c.WriteFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(code, "")))
			return m.Code, m.Reason, before
		}
		before = append(before, string(m.Data))
	}
}

// WriteFrame masks and writes f.
func (c *Client) WriteFrame(f ws.Frame) error {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(Wait))
	return ws.WriteFrame(c.Conn, ws.MaskFrameInPlace(f))
}

// WriteText sends s as one text frame, compressed when negotiated.
func (c *Client) WriteText(t testing.TB, s string) {
	t.Helper()
	f := ws.NewTextFrame([]byte(s))
	if c.Compressed {
		var err error
		if f, err = wsflate.CompressFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WriteFrame(f); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// Close sends a normal close frame and closes the socket.
func (c *Client) Close() {
	_ = c.WriteFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
	_ = c.Conn.Close()
}
