package rtbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FanChannel is the channel the first Config.Subscribers sockets join;
// every event is published to it.
const FanChannel = "public-bench-fan"

// Config is one measurement of one server.
type Config struct {
	// Name labels the result ("gatehouse", "soketi", "centrifugo").
	Name string
	// Protocol is the wire protocol: ProtocolPusher (the default) or
	// ProtocolCentrifugo.
	Protocol string
	// PID is the server's process, whose RSS and CPU time are read.
	PID int
	// WSURL is the WebSocket base, e.g. ws://127.0.0.1:6001 (the client adds
	// the protocol's path: /app/{key}?protocol=7... or /connection/websocket).
	WSURL string
	// APIURL is the HTTP API base, e.g. http://127.0.0.1:6001.
	APIURL string
	// App is the app both sockets and API calls use (Pusher).
	App App
	// APIKey is the HTTP API key (Centrifugo's X-API-Key).
	APIKey string
	// Conns is how many sockets are opened and kept idle [10000].
	Conns int
	// Subscribers is how many of them join FanChannel [2000]; the others
	// join one of IdleChannels channels.
	Subscribers int
	// IdleChannels spreads the other sockets over this many channels [100].
	IdleChannels int
	// DialConcurrency bounds handshakes in flight [64].
	DialConcurrency int
	// Settle is the wait before each RSS reading [3s].
	Settle time.Duration
	// LatencyEvents are published Spacing apart for the latency figure [50].
	LatencyEvents int
	// Spacing separates latency events [100ms].
	Spacing time.Duration
	// CPUEvents are published for the CPU figure [250], at most Window
	// events ahead of the slowest delivery.
	CPUEvents int
	// Window bounds the events in flight during the CPU run [8].
	Window int
	// WarmupEvents are published and delivered before anything is timed [20].
	WarmupEvents int
	// Payload is the length of each event's data string [128].
	Payload int
	// Timeout bounds each phase [60s].
	Timeout time.Duration
	// SourceAddrs are local addresses the sockets are dialled from, in
	// turn (e.g. 127.0.0.1 to 127.0.0.4 for more sockets than one address
	// has ephemeral ports); none: the kernel's choice.
	SourceAddrs []string
	// ServerGOMAXPROCS labels the server's GOMAXPROCS in throughput results.
	ServerGOMAXPROCS string
	// Reader is how the client reads its sockets: ReaderEpoll (the
	// default), ReaderEpollWait or ReaderGoroutines.
	Reader string
	// Log reports progress.
	Log *slog.Logger
}

func (c *Config) defaults() {
	set := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	set(&c.Conns, 10000)
	set(&c.Subscribers, 2000)
	set(&c.IdleChannels, 100)
	set(&c.DialConcurrency, 64)
	set(&c.LatencyEvents, 50)
	set(&c.CPUEvents, 250)
	set(&c.Window, 8)
	set(&c.WarmupEvents, 20)
	set(&c.Payload, 128)
	if c.Subscribers > c.Conns {
		c.Subscribers = c.Conns
	}
	if c.Settle <= 0 {
		c.Settle = 3 * time.Second
	}
	if c.Spacing <= 0 {
		c.Spacing = 100 * time.Millisecond
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Protocol == "" {
		c.Protocol = ProtocolPusher
	}
	if c.Reader == "" {
		c.Reader = ReaderEpoll
	}
}

// Result is what one Run measured.
type Result struct {
	Name        string `json:"name"`
	Conns       int    `json:"conns"`
	Subscribers int    `json:"subscribers"`
	Payload     int    `json:"payload_bytes"`

	BaselineRSS    int64   `json:"baseline_rss_bytes"`
	LoadedRSS      int64   `json:"loaded_rss_bytes"`
	RSSPerConn     float64 `json:"rss_per_conn_bytes"`
	ConnectSeconds float64 `json:"connect_seconds"`
	// AfterRSS is read once the latency and CPU runs are over, sockets
	// still open: what the traffic left behind.
	AfterRSS        int64   `json:"after_rss_bytes"`
	AfterRSSPerConn float64 `json:"after_rss_per_conn_bytes"`

	CPUEvents        int     `json:"cpu_events"`
	CPUDeliveries    int64   `json:"cpu_deliveries"`
	CPUSeconds       float64 `json:"cpu_seconds"`
	CPUWallSeconds   float64 `json:"cpu_wall_seconds"`
	CPUPerDeliveryUS float64 `json:"cpu_per_delivery_us"`
	// CPUMessages is how many WebSocket text messages carried the
	// CPUDeliveries: fewer when the server puts several events in one.
	CPUMessages int64 `json:"cpu_messages"`
	// ClientCPUPerDeliveryUS is this client's own cost per delivery: when it
	// nears the server's, latency measures the client.
	ClientCPUPerDeliveryUS float64 `json:"client_cpu_per_delivery_us"`

	LatencyEvents     int     `json:"latency_events"`
	LatencyDeliveries int     `json:"latency_deliveries"`
	P50MS             float64 `json:"p50_ms"`
	P99MS             float64 `json:"p99_ms"`
	MaxMS             float64 `json:"max_ms"`
	// SpreadMS is the median over events of the time between an event's
	// first and last delivery: how long one fan-out takes.
	SpreadMS float64 `json:"spread_ms"`
	// LatencyCPUPerDeliveryUS is the server's CPU per delivery during the
	// latency run (one event at a time: nothing to write together).
	LatencyCPUPerDeliveryUS float64 `json:"latency_cpu_per_delivery_us"`
	// LatencyClientCPUPerDeliveryUS is the client's own during it.
	LatencyClientCPUPerDeliveryUS float64 `json:"latency_client_cpu_per_delivery_us"`
	// EventLastMS is each latency event's slowest delivery, in order.
	EventLastMS []float64 `json:"event_last_ms"`

	Dropped   int64  `json:"dropped"`
	FirstDrop string `json:"first_drop,omitempty"`
}

// Run opens the sockets, measures memory, latency and CPU in that order,
// and closes the sockets.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	f, err := newFleet(cfg)
	if err != nil {
		return nil, err
	}
	w := f.wire
	r := &Result{Name: cfg.Name, Conns: cfg.Conns, Subscribers: cfg.Subscribers, Payload: cfg.Payload}
	defer f.closeAll()
	pub := newPublisher(cfg, w)
	defer pub.hc.CloseIdleConnections()

	// Memory: baseline, then every socket connected, subscribed and idle.
	sleep(ctx, cfg.Settle)
	if r.BaselineRSS, err = RSS(cfg.PID); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := connect(ctx, f, cfg); err != nil {
		return nil, err
	}
	r.ConnectSeconds = time.Since(start).Seconds()
	cfg.Log.Info("connected", "server", cfg.Name, "conns", cfg.Conns, "seconds", r.ConnectSeconds)
	sleep(ctx, cfg.Settle)
	if r.LoadedRSS, err = RSS(cfg.PID); err != nil {
		return nil, err
	}
	r.RSSPerConn = float64(r.LoadedRSS-r.BaselineRSS) / float64(cfg.Conns)
	if err := f.healthy(); err != nil {
		return nil, err
	}

	// Warm-up: JIT, pools, caches.
	if err := pub.burst(ctx, f, cfg.WarmupEvents, cfg.Window); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}

	// Latency: events one at a time, spaced out, every delivery timed.
	f.roomForSamples(cfg.LatencyEvents)
	f.recording.Store(true)
	base := f.delivered.Load()
	lcpu0, _ := CPU(cfg.PID)
	lself0, _ := CPU(os.Getpid())
	if f.poller != nil && f.poller.polls {
		f.poller.spin.Store(true)
	}
	for i := 0; i < cfg.LatencyEvents; i++ {
		if err := pub.publish(ctx, i); err != nil {
			return nil, fmt.Errorf("latency: %w", err)
		}
		sleep(ctx, cfg.Spacing)
	}
	want := base + int64(cfg.LatencyEvents*cfg.Subscribers)
	if err := f.wait(ctx, want, cfg.Timeout); err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
	f.recording.Store(false)
	lcpu1, _ := CPU(cfg.PID)
	lself1, _ := CPU(os.Getpid())
	if f.poller != nil {
		f.poller.spin.Store(false)
	}
	r.LatencyCPUPerDeliveryUS = (lcpu1 - lcpu0).Seconds() * 1e6 / float64(cfg.LatencyEvents*cfg.Subscribers)
	r.LatencyClientCPUPerDeliveryUS = (lself1 - lself0).Seconds() * 1e6 / float64(cfg.LatencyEvents*cfg.Subscribers)
	var lat []time.Duration
	first := make([]time.Duration, cfg.LatencyEvents)
	last := make([]time.Duration, cfg.LatencyEvents)
	for i := range first {
		first[i] = time.Hour
	}
	f.mu.Lock()
	for _, c := range f.conns {
		for _, s := range c.lat {
			lat = append(lat, s.lat)
			if s.seq >= 0 && s.seq < cfg.LatencyEvents {
				first[s.seq] = min(first[s.seq], s.lat)
				last[s.seq] = max(last[s.seq], s.lat)
			}
		}
	}
	f.mu.Unlock()
	slices.Sort(lat)
	spread := make([]time.Duration, cfg.LatencyEvents)
	r.EventLastMS = make([]float64, cfg.LatencyEvents)
	for i := range spread {
		spread[i] = last[i] - first[i]
		r.EventLastMS[i] = ms(last[i])
	}
	slices.Sort(spread)
	r.SpreadMS = ms(spread[len(spread)/2])
	r.LatencyEvents = cfg.LatencyEvents
	r.LatencyDeliveries = len(lat)
	if len(lat) > 0 {
		r.P50MS = ms(lat[len(lat)*50/100])
		r.P99MS = ms(lat[min(len(lat)-1, len(lat)*99/100)])
		r.MaxMS = ms(lat[len(lat)-1])
	}
	cfg.Log.Info("latency", "server", cfg.Name, "p50_ms", r.P50MS, "p99_ms", r.P99MS)

	// CPU: many events, windowed, server CPU time over the whole run.
	cpu0, err := CPU(cfg.PID)
	if err != nil {
		return nil, err
	}
	self0, _ := CPU(os.Getpid())
	t0 := time.Now()
	base = f.delivered.Load()
	msgs := f.messages.Load()
	if err := pub.burst(ctx, f, cfg.CPUEvents, cfg.Window); err != nil {
		return nil, fmt.Errorf("cpu: %w", err)
	}
	cpu1, err := CPU(cfg.PID)
	if err != nil {
		return nil, err
	}
	self1, _ := CPU(os.Getpid())
	r.CPUWallSeconds = time.Since(t0).Seconds()
	r.CPUEvents = cfg.CPUEvents
	r.CPUDeliveries = f.delivered.Load() - base
	r.CPUMessages = f.messages.Load() - msgs
	r.CPUSeconds = (cpu1 - cpu0).Seconds()
	r.CPUPerDeliveryUS = r.CPUSeconds * 1e6 / float64(r.CPUDeliveries)
	r.ClientCPUPerDeliveryUS = (self1 - self0).Seconds() * 1e6 / float64(r.CPUDeliveries)
	cfg.Log.Info("cpu", "server", cfg.Name, "us_per_delivery", r.CPUPerDeliveryUS)

	sleep(ctx, cfg.Settle)
	if r.AfterRSS, err = RSS(cfg.PID); err != nil {
		return nil, err
	}
	r.AfterRSSPerConn = float64(r.AfterRSS-r.BaselineRSS) / float64(cfg.Conns)

	r.Dropped = f.dropped.Load()
	if v, ok := f.firstDrop.Load().(string); ok {
		r.FirstDrop = v
	}
	return r, f.healthy()
}

// roomForSamples makes room for n latency samples on every fan-out
// subscriber, so that recording them allocates nothing and the client's
// garbage collector stays out of the latency run.
func (f *fleet) roomForSamples(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		if c.channel == FanChannel {
			c.lat = make([]sample, 0, n)
		}
	}
}

// connect opens cfg.Conns sockets, DialConcurrency at a time.
func connect(ctx context.Context, f *fleet, cfg Config) error {
	u := strings.TrimSuffix(cfg.WSURL, "/") + f.wire.path()
	sem := make(chan struct{}, cfg.DialConcurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	failed := 0
	for i := 0; i < cfg.Conns; i++ {
		ch := FanChannel
		if i >= cfg.Subscribers {
			ch = "public-bench-idle-" + strconv.Itoa(i%cfg.IdleChannels)
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var err error
			for try := 0; try < 3; try++ { // a full accept queue resets a few
				if _, err = f.dial(ctx, u, ch); err == nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			mu.Lock()
			failed++
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if failed > 0 {
		return fmt.Errorf("%d of %d sockets failed to connect, first: %w", failed, cfg.Conns, firstErr)
	}
	return nil
}

func (f *fleet) healthy() error {
	if n := f.dropped.Load(); n > 0 {
		why, _ := f.firstDrop.Load().(string)
		return fmt.Errorf("%d sockets lost, first: %s", n, why)
	}
	return nil
}

// wait blocks until want bench events were received in all.
func (f *fleet) wait(ctx context.Context, want int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for f.delivered.Load() < want {
		if err := f.healthy(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timeout: %d of %d deliveries", f.delivered.Load(), want)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(200 * time.Microsecond)
	}
	return nil
}

// publisher sends events through the server's HTTP API.
type publisher struct {
	cfg  Config
	wire wire
	hc   *http.Client
	pad  string
}

func newPublisher(cfg Config, w wire) *publisher {
	tr := &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}
	return &publisher{
		cfg:  cfg,
		wire: w,
		hc:   &http.Client{Transport: tr, Timeout: 30 * time.Second},
		pad:  strings.Repeat("x", cfg.Payload),
	}
}

// publish sends event seq to FanChannel; its data carries the send time.
func (p *publisher) publish(ctx context.Context, seq int) error {
	now := time.Now()
	data := strconv.Itoa(seq) + " " + strconv.FormatInt(now.UnixNano(), 10) + " "
	if len(data) < len(p.pad) {
		data += p.pad[len(data):]
	}
	req, err := p.wire.request(ctx, data, now)
	if err != nil {
		return err
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	return p.wire.accepted(resp.StatusCode, b)
}

// burst publishes n events, up to window of them at once and never more
// than window ahead of the deliveries, and waits until all are delivered.
// Publishes run concurrently because some servers answer an API call only
// once its fan-out is done: one publish at a time would keep their queue
// empty while a server that answers first gets events to write together.
func (p *publisher) burst(ctx context.Context, f *fleet, n, window int) error {
	s := int64(p.cfg.Subscribers)
	base := f.delivered.Load()
	slots := make(chan struct{}, window)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		if i >= window {
			if err := f.wait(ctx, base+int64(i-window)*s, p.cfg.Timeout); err != nil {
				return err
			}
		}
		select {
		case slots <- struct{}{}:
		case err := <-errs:
			wg.Wait()
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := p.publish(ctx, i); err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return f.wait(ctx, base+int64(n)*s, p.cfg.Timeout)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
