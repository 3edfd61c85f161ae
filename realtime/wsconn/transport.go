package wsconn

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"syscall"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// Config configures a Transport. Zero fields take the defaults.
type Config struct {
	// MaxMessageBytes bounds one inbound message, after decompression
	// [65536]. Larger ones close the connection with 1009.
	MaxMessageBytes int
	// SendQueue is how many frames may wait for a connection's socket before
	// it counts as a slow consumer [256].
	SendQueue int
	// WriteTimeout is how long one write may block [10s].
	WriteTimeout time.Duration
	// SlowCloseCode and SlowCloseReason go in the close frame sent to a slow
	// consumer [1011, "slow consumer"].
	SlowCloseCode   int
	SlowCloseReason string
	// Compression enables permessage-deflate when the client offers it.
	Compression bool
	// HandshakeTimeout bounds writing the handshake response [10s].
	HandshakeTimeout time.Duration
}

// Transport upgrades HTTP requests to WebSocket connections and reads them.
type Transport struct {
	cfg    Config
	log    *slog.Logger
	poller *poller // nil: one reading goroutine per connection
}

// New returns a Transport; on Linux it starts the epoll loop.
func New(cfg Config, log *slog.Logger) (*Transport, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 64 << 10
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = 256
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.SlowCloseCode == 0 {
		cfg.SlowCloseCode = CloseInternalError
		cfg.SlowCloseReason = "slow consumer"
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	t := &Transport{cfg: cfg, log: log}
	p, err := newPoller(log)
	if err != nil {
		return nil, fmt.Errorf("wsconn: start poller: %w", err)
	}
	t.poller = p
	return t, nil
}

// Close stops the epoll loop. Connections already open are not closed.
func (t *Transport) Close() error {
	if t.poller != nil {
		return t.poller.close()
	}
	return nil
}

// Handler receives what a connection reads. Its methods run on the
// connection's reading goroutine, one call at a time; OnClose runs once, on
// a goroutine of its own.
type Handler interface {
	// OnMessage receives a complete text or binary message. data is only
	// valid during the call.
	OnMessage(c *Conn, data []byte)
	// OnClose reports that the connection is closed; err is nil after a
	// close handshake.
	OnClose(c *Conn, err error)
}

// ErrNotWebSocket is returned by Upgrade for a request that asks for no
// WebSocket upgrade; the response (400) is already written.
var ErrNotWebSocket = errors.New("wsconn: not a websocket upgrade request")

// Upgrade answers the WebSocket handshake of r and hijacks the connection.
// On error an HTTP error response has been written when possible.
func (t *Transport) Upgrade(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	if !headerHas(r.Header, "Upgrade", "websocket") {
		http.Error(w, "expected a websocket upgrade", http.StatusBadRequest)
		return nil, ErrNotWebSocket
	}
	var deflate bool
	u := ws.HTTPUpgrader{Timeout: t.cfg.HandshakeTimeout}
	if t.cfg.Compression {
		u.Negotiate = negotiate(&deflate)
	}
	nc, rw, _, err := u.Upgrade(r, w)
	if err != nil {
		if nc != nil {
			_ = nc.Close()
		}
		return nil, fmt.Errorf("wsconn: upgrade: %w", err)
	}
	// Deadlines the HTTP server set (ReadTimeout, WriteTimeout) must not
	// end an idle socket; writes set their own.
	_ = nc.SetDeadline(time.Time{})
	c := &Conn{t: t, nc: nc, compress: deflate, fd: -1}
	c.lastRead.Store(time.Now().UnixNano())
	if rw != nil && rw.Reader.Buffered() > 0 {
		b, _ := rw.Reader.Peek(rw.Reader.Buffered())
		c.partial = append([]byte(nil), b...)
	}
	if sc, ok := nc.(syscall.Conn); ok && t.poller != nil {
		if raw, err := sc.SyscallConn(); err == nil {
			_ = raw.Control(func(fd uintptr) { c.fd = int(fd) })
			c.raw = raw
		}
	}
	return c, nil
}

// Serve starts reading c, handing messages to h. Call it once per
// connection, after any frame the server must send first was queued.
func (t *Transport) Serve(c *Conn, h Handler) {
	c.mu.Lock()
	c.h = h
	closed := c.state == stateClosed
	err := c.closeErr
	c.mu.Unlock()
	if closed {
		go h.OnClose(c, err)
		return
	}
	if c.raw != nil && t.poller != nil {
		if err := t.poller.add(c); err == nil {
			// Bytes may have arrived before registration: read once.
			c.readable()
			return
		}
		c.raw = nil
	}
	go c.readBlocking()
}

// negotiate accepts the first permessage-deflate offer it can honour and
// answers it with no context takeover both ways.
func negotiate(accepted *bool) func(httphead.Option) (httphead.Option, error) {
	return func(opt httphead.Option) (httphead.Option, error) {
		if *accepted || !bytes.Equal(opt.Name, wsflate.ExtensionNameBytes) {
			return httphead.Option{}, nil
		}
		var p wsflate.Parameters
		if err := p.Parse(opt); err != nil {
			return httphead.Option{}, nil
		}
		// compress/flate always uses a 32 KiB window.
		if p.ServerMaxWindowBits != 0 && p.ServerMaxWindowBits != 15 {
			return httphead.Option{}, nil
		}
		*accepted = true
		resp := wsflate.Parameters{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: p.ServerMaxWindowBits}
		return resp.Option(), nil
	}
}

func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, part := range bytes.Split([]byte(v), []byte(",")) {
			if bytes.EqualFold(bytes.TrimSpace(part), []byte(token)) {
				return true
			}
		}
	}
	return false
}
