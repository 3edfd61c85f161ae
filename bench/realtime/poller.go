package rtbench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// Readers Config.Reader names: how the client reads its sockets once they
// are subscribed.
const (
	// ReaderGoroutines reads each socket in a goroutine of its own (Go's
	// netpoller wakes one per message).
	ReaderGoroutines = "goroutines"
	// ReaderEpoll reads every socket from one goroutine with epoll, one
	// read per ready socket; during the latency run it polls without
	// sleeping, so a delivery is read as soon as the kernel has it and the
	// server's writes never pay for waking the client.
	ReaderEpoll = "epoll"
	// ReaderEpollWait is ReaderEpoll without the polling: the reader
	// sleeps in epoll_wait until a socket is ready, for runs where the
	// client shares its cores with the server.
	ReaderEpollWait = "epoll-wait"
)

// poller reads sockets from one goroutine with a level-triggered epoll
// set: one read(2) per ready socket, frames parsed from what it returned.
// A goroutine per socket costs a netpoller wakeup, a schedule and two
// reads (the second finding nothing) per message, on a client that must
// stay cheaper than the servers it times.
type poller struct {
	f    *fleet
	epfd int
	// spin, while set, polls without blocking: no sleep, so no wakeup for
	// the server's write to pay and nothing between the kernel and the read.
	// polls says whether the latency run sets it (ReaderEpoll).
	spin  atomic.Bool
	polls bool
	stop  atomic.Bool
	done  chan struct{}

	mu    sync.Mutex
	conns map[int32]*client
}

func newPoller(f *fleet) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("rtbench: epoll: %w", err)
	}
	p := &poller{f: f, epfd: epfd, conns: make(map[int32]*client), done: make(chan struct{})}
	go p.loop()
	return p, nil
}

// adopt takes c's socket away from Go's netpoller (a duplicate descriptor
// survives closing the net.Conn) and reads it from now on. Bytes the
// handshake read past its last message are handled first.
func (p *poller) adopt(c *client) error {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return errors.New("rtbench: the epoll reader needs a TCP socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.Dup(int(s)) }); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	// Closing the net.Conn drops Go's descriptor and its netpoller entry;
	// the socket stays open through fd (close sends no FIN while another
	// descriptor holds it).
	_ = c.nc.Close()
	c.nc = nil
	c.fd = fd
	// Everything of c is set before the map holds it: the loop may look a
	// descriptor up as soon as it is there (an event of an earlier socket
	// with the same number, closed since, included).
	if len(c.pend) > 0 {
		p.consume(c, nil, time.Now())
		if c.gone {
			return nil // dropped and counted already
		}
	}
	p.mu.Lock()
	p.conns[int32(fd)] = c
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.forget(c)
		_ = unix.Close(fd)
		return fmt.Errorf("rtbench: epoll add: %w", err)
	}
	return nil
}

func (p *poller) forget(c *client) {
	p.mu.Lock()
	delete(p.conns, int32(c.fd))
	p.mu.Unlock()
}

// close stops the loop and waits for it; the sockets are closed by the
// fleet.
func (p *poller) close() {
	p.stop.Store(true)
	<-p.done
	_ = unix.Close(p.epfd)
}

func (p *poller) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 512)
	buf := make([]byte, 64<<10)
	var ready []*client // reused: the latency run allocates nothing here
	for !p.stop.Load() {
		if h := p.f.hold.Load(); h != nil {
			<-*h
			continue
		}
		timeout := 50 // ms: how soon stop is noticed when nothing arrives
		if p.spin.Load() {
			timeout = 0
		}
		n, err := unix.EpollWait(p.epfd, events, timeout)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			p.f.firstDrop.CompareAndSwap(nil, "epoll_wait: "+err.Error())
			p.f.dropped.Add(1)
			return
		}
		if n == 0 {
			runtime.Gosched() // the publisher shares this core
			continue
		}
		p.mu.Lock()
		ready = ready[:0]
		for _, ev := range events[:n] {
			if c := p.conns[ev.Fd]; c != nil {
				ready = append(ready, c)
			}
		}
		p.mu.Unlock()
		for _, c := range ready {
			p.readable(c, buf)
		}
	}
}

// readable reads what one socket has and handles every complete frame.
func (p *poller) readable(c *client, buf []byte) {
	n, err := unix.Read(c.fd, buf)
	now := time.Now()
	switch {
	case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
		return
	case err != nil:
		p.lost(c, err.Error())
		return
	case n == 0:
		p.lost(c, "EOF")
		return
	}
	p.consume(c, buf[:n], now)
}

// lost drops a socket that failed or ended.
func (p *poller) lost(c *client, why string) {
	c.gone = true
	p.forget(c)
	if !c.closing.Load() {
		c.drop(why)
	}
}

// consume handles the complete messages in c's pending bytes followed by
// in; an incomplete frame's bytes stay pending, in c's own storage.
func (p *poller) consume(c *client, in []byte, now time.Time) {
	if len(c.pend) == 0 {
		c.pend = in // parsed where the read put it: no copy
	} else {
		c.keep()
		c.rest = append(c.rest, in...)
		c.pend = c.rest
	}
	for {
		op, payload, ok, err := c.next()
		if err != nil {
			p.lost(c, err.Error())
			return
		}
		if !ok {
			break
		}
		if !c.handle(op, payload, now) {
			c.gone = true
			p.forget(c)
			return
		}
	}
	c.keep()
}

// parseFrame reads one server frame from the start of b: n is 0 when b
// holds only part of it.
func parseFrame(b []byte) (op ws.OpCode, fin bool, payload []byte, n int, err error) {
	if len(b) < 2 {
		return 0, false, nil, 0, nil
	}
	if b[0]&0x70 != 0 {
		return 0, false, nil, 0, errors.New("compressed or reserved bits set; compression was not offered")
	}
	if b[1]&0x80 != 0 {
		return 0, false, nil, 0, errors.New("masked server frame")
	}
	fin, op = b[0]&0x80 != 0, ws.OpCode(b[0]&0x0F)
	size, h := uint64(b[1]&0x7F), 2
	switch size {
	case 126:
		if len(b) < 4 {
			return 0, false, nil, 0, nil
		}
		size, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0, false, nil, 0, nil
		}
		size, h = binary.BigEndian.Uint64(b[2:]), 10
		if size > 16<<20 {
			return 0, false, nil, 0, errors.New("frame too large")
		}
	}
	if uint64(len(b)-h) < size {
		return 0, false, nil, 0, nil
	}
	end := h + int(size)
	return op, fin, b[h:end], end, nil
}

// rawWrite sends b on a socket the poller reads; a full send buffer drops
// it (only pongs and replies go this way, and they are small).
func rawWrite(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return err
		}
		b = b[n:]
	}
	return nil
}
