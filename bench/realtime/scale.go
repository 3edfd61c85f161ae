package rtbench

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Modes of a loadgen run besides the default fan-out measurement (Run).
const (
	// ModeThroughput measures how many deliveries per second the server
	// writes when every socket subscribes to the fan-out channel and the
	// client does not read meanwhile (Throughput).
	ModeThroughput = "throughput"
	// ModeStorm opens every socket at once, as clients reconnecting after
	// a deploy would, and counts the ones that fail (Storm).
	ModeStorm = "storm"
)

// ThroughputResult is what Throughput measured.
type ThroughputResult struct {
	Name        string  `json:"name"`
	Mode        string  `json:"mode"`
	Conns       int     `json:"conns"`
	Events      int     `json:"events"`
	Deliveries  int64   `json:"deliveries"`
	GOMAXPROCS  string  `json:"server_gomaxprocs,omitempty"`
	RSSPerConn  float64 `json:"rss_per_conn_bytes"`
	WallSeconds float64 `json:"wall_seconds"`
	// DeliveriesPerSecond is Conns × Events over the time from the first
	// publish to the last publish's answer (the server answers once its
	// fan-out wrote every socket).
	DeliveriesPerSecond float64 `json:"deliveries_per_second"`
	CPUSeconds          float64 `json:"cpu_seconds"`
	CPUPerDeliveryUS    float64 `json:"cpu_per_delivery_us"`
	// DeliveriesPerMessage is how many events a WebSocket message carried
	// on average (above 1 when the server writes queued events together).
	DeliveriesPerMessage float64 `json:"deliveries_per_message"`
	Dropped              int64   `json:"dropped"`
}

// Throughput subscribes cfg.Conns sockets to the fan-out channel, stops
// reading them, publishes cfg.CPUEvents events cfg.Window at a time, and
// times the server until it answered the last publish: the kernel's socket
// buffers take the frames, so the figure is the server's (and its kernel's)
// work, not the client's. The client then reads everything and checks that
// every socket got every event.
func Throughput(ctx context.Context, cfg Config) (*ThroughputResult, error) {
	cfg.Subscribers = cfg.Conns
	cfg.defaults()
	f, err := newFleet(cfg)
	if err != nil {
		return nil, err
	}
	defer f.closeAll()
	pub := newPublisher(cfg, f.wire)
	defer pub.hc.CloseIdleConnections()
	r := &ThroughputResult{Name: cfg.Name, Mode: ModeThroughput, Conns: cfg.Conns, Events: cfg.CPUEvents, GOMAXPROCS: cfg.ServerGOMAXPROCS}

	base, err := RSS(cfg.PID)
	if err != nil {
		return nil, err
	}
	if err := connect(ctx, f, cfg); err != nil {
		return nil, err
	}
	sleep(ctx, cfg.Settle)
	loaded, err := RSS(cfg.PID)
	if err != nil {
		return nil, err
	}
	r.RSSPerConn = float64(loaded-base) / float64(cfg.Conns)
	if err := pub.burst(ctx, f, cfg.WarmupEvents, cfg.Window); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}

	before := f.delivered.Load()
	messages := f.messages.Load()
	f.pause()
	cpu0, err := CPU(cfg.PID)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Window)
	for range cfg.Window {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.CPUEvents {
					return
				}
				if err := pub.publish(ctx, cfg.WarmupEvents+i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	cpu1, err := CPU(cfg.PID)
	if err != nil {
		return nil, err
	}
	f.resume()
	select {
	case err := <-errs:
		return nil, fmt.Errorf("publish: %w", err)
	default:
	}
	want := before + int64(cfg.CPUEvents)*int64(cfg.Conns)
	if err := f.wait(ctx, want, cfg.Timeout); err != nil {
		return nil, fmt.Errorf("drain: %w", err)
	}
	r.Deliveries = want - before
	r.WallSeconds = wall.Seconds()
	r.DeliveriesPerSecond = float64(r.Deliveries) / wall.Seconds()
	r.CPUSeconds = (cpu1 - cpu0).Seconds()
	r.CPUPerDeliveryUS = r.CPUSeconds * 1e6 / float64(r.Deliveries)
	r.Dropped = f.dropped.Load()
	if m := f.messages.Load() - messages; m > 0 {
		r.DeliveriesPerMessage = float64(r.Deliveries) / float64(m)
	}
	cfg.Log.Info("throughput", "server", cfg.Name, "deliveries_per_second", int(r.DeliveriesPerSecond), "cpu_us", r.CPUPerDeliveryUS)
	return r, f.healthy()
}

// StormResult is what Storm measured.
type StormResult struct {
	Name    string  `json:"name"`
	Mode    string  `json:"mode"`
	Conns   int     `json:"conns"`
	Seconds float64 `json:"seconds"`
	// Failed counts the sockets whose handshake or subscription failed
	// (refused, reset or timed out); nothing is retried.
	Failed     int    `json:"failed"`
	FirstError string `json:"first_error,omitempty"`
	// P99HandshakeMS is the 99th percentile of one socket's time from dial
	// to subscribed.
	P99HandshakeMS float64 `json:"p99_handshake_ms"`
	RSSPerConn     float64 `json:"rss_per_conn_bytes"`
}

// Storm opens cfg.Conns sockets all at once (a dial each, no retries) and
// reports how many failed and how long the burst took.
func Storm(ctx context.Context, cfg Config) (*StormResult, error) {
	cfg.defaults()
	f, err := newFleet(cfg)
	if err != nil {
		return nil, err
	}
	defer f.closeAll()
	base, err := RSS(cfg.PID)
	if err != nil {
		return nil, err
	}
	u := strings.TrimSuffix(cfg.WSURL, "/") + f.wire.path()
	r := &StormResult{Name: cfg.Name, Mode: ModeStorm, Conns: cfg.Conns}
	took := make([]time.Duration, cfg.Conns)
	var failed atomic.Int64
	var first atomic.Value
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < cfg.Conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t := time.Now()
			if _, err := f.dial(ctx, u, "public-bench-storm-"+fmt.Sprint(i%cfg.IdleChannels)); err != nil {
				failed.Add(1)
				first.CompareAndSwap(nil, err.Error())
				return
			}
			took[i] = time.Since(t)
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	r.Seconds = time.Since(t0).Seconds()
	r.Failed = int(failed.Load())
	if s, ok := first.Load().(string); ok {
		r.FirstError = s
	}
	ok := took[:0]
	for _, d := range took {
		if d > 0 {
			ok = append(ok, d)
		}
	}
	if len(ok) > 0 {
		slices.Sort(ok)
		r.P99HandshakeMS = ms(ok[min(len(ok)-1, len(ok)*99/100)])
	}
	sleep(ctx, cfg.Settle)
	if loaded, err := RSS(cfg.PID); err == nil && cfg.Conns > r.Failed {
		r.RSSPerConn = float64(loaded-base) / float64(cfg.Conns-r.Failed)
	}
	cfg.Log.Info("storm", "server", cfg.Name, "conns", cfg.Conns, "failed", r.Failed, "seconds", r.Seconds)
	return r, nil
}

// newFleet returns an empty fleet speaking cfg's protocol.
func newFleet(cfg Config) (*fleet, error) {
	w, err := newWire(cfg)
	if err != nil {
		return nil, err
	}
	f := &fleet{wire: w, sources: cfg.SourceAddrs}
	switch cfg.Reader {
	case ReaderEpoll, ReaderEpollWait:
		if f.poller, err = newPoller(f); err != nil {
			return nil, err
		}
		f.poller.polls = cfg.Reader == ReaderEpoll
	case "", ReaderGoroutines:
	default:
		return nil, fmt.Errorf("rtbench: unknown reader %q (want %s, %s or %s)", cfg.Reader, ReaderEpoll, ReaderEpollWait, ReaderGoroutines)
	}
	return f, nil
}

// dialSource dials from the fleet's local addresses in turn: one address
// holds at most one ephemeral port range of connections to one server port.
func (f *fleet) dialSource(ctx context.Context, network, addr string) (net.Conn, error) {
	src := f.sources[int(f.dials.Add(1)-1)%len(f.sources)]
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second,
		Control: bindAddressNoPort}
	return d.DialContext(ctx, network, addr)
}

// bindAddressNoPort lets the kernel pick the local port at connect time
// (IP_BIND_ADDRESS_NO_PORT), as for an unbound socket: a port is then
// unique per destination, not per address, and sockets in TIME_WAIT from
// an earlier run do not make bind fail.
func bindAddressNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT.
const ipBindAddressNoPort = 24
