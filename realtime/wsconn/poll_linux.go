//go:build linux

package wsconn

import (
	"errors"
	"log/slog"
	"sync"

	"golang.org/x/sys/unix"
)

var errWouldBlock = errors.New("wsconn: would block")

// poller watches sockets with one edge-triggered epoll instance.
type poller struct {
	log   *slog.Logger
	epfd  int
	wake  int // eventfd that ends the loop
	mu    sync.RWMutex
	conns map[int]*Conn
	done  chan struct{}
}

func newPoller(log *slog.Logger) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, err
	}
	p := &poller{log: log, epfd: epfd, wake: wake, conns: make(map[int]*Conn), done: make(chan struct{})}
	go p.loop()
	return p, nil
}

func (p *poller) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			p.log.Error("wsconn: epoll wait", "err", err)
			return
		}
		p.mu.RLock()
		for i := 0; i < n; i++ {
			fd := int(events[i].Fd)
			if fd == p.wake {
				p.mu.RUnlock()
				return
			}
			if c := p.conns[fd]; c != nil {
				c.readable()
			}
		}
		p.mu.RUnlock()
	}
}

func (p *poller) add(c *Conn) error {
	p.mu.Lock()
	p.conns[c.fd] = c
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(c.fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.conns, c.fd)
		p.mu.Unlock()
		return err
	}
	return nil
}

// remove must run before the socket is closed, so a reused fd number never
// reaches the old connection.
func (p *poller) remove(c *Conn) {
	p.mu.Lock()
	if p.conns[c.fd] == c {
		delete(p.conns, c.fd)
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	}
	p.mu.Unlock()
}

func (p *poller) close() error {
	var one = [8]byte{1}
	_, _ = unix.Write(p.wake, one[:])
	<-p.done
	unix.Close(p.wake)
	return unix.Close(p.epfd)
}

// readNonBlocking reads what the socket holds; errWouldBlock when nothing.
func (c *Conn) readNonBlocking(b []byte) (int, error) {
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			m, e := unix.Read(int(fd), b)
			if e == unix.EINTR {
				continue
			}
			switch {
			case e == unix.EAGAIN:
				rerr = errWouldBlock
			case e != nil:
				rerr = e
			case m == 0:
				rerr = errPeerGone
			default:
				n = m
			}
			return true
		}
	})
	if err != nil {
		return n, err
	}
	return n, rerr
}

// tryWrite writes without blocking; it returns how much the socket took.
// It writes to the descriptor directly rather than through RawConn.Write,
// whose escaping closure cost three allocations per delivered frame. That is
// safe because Send calls it holding c.mu with the state open and no flush
// goroutine running: shutdown flips the state under the same lock before it
// closes the descriptor, and nobody else writes meanwhile.
func (c *Conn) tryWrite(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, e := unix.Write(c.fd, p[n:])
		switch {
		case e == unix.EINTR:
			continue
		case e == unix.EAGAIN:
			return n, nil
		case e != nil:
			return n, e
		}
		n += m
	}
	return n, nil
}
