//go:build !linux

package wsconn

import (
	"errors"
	"log/slog"
)

var errWouldBlock = errors.New("wsconn: would block")

// poller is absent off Linux: every connection gets a reading goroutine.
type poller struct{}

func newPoller(*slog.Logger) (*poller, error) { return nil, nil }
func (p *poller) add(*Conn) error             { return errors.New("wsconn: no poller") }
func (p *poller) remove(*Conn)                {}
func (p *poller) close() error                { return nil }

func (c *Conn) readNonBlocking([]byte) (int, error) { return 0, errWouldBlock }
func (c *Conn) tryWrite([]byte) (int, error)        { return 0, nil }
