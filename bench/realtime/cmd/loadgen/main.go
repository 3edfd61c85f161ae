// Command loadgen measures one running realtime server (RSS per idle
// socket, CPU per delivered message, delivery latency) and prints the
// result as one JSON line. It speaks Pusher protocol 7 or, with -protocol
// centrifugo, Centrifugo's JSON protocol. scripts/bench-realtime.sh runs it
// against Gatehouse, soketi and Centrifugo in turn. Every address must be
// loopback.
//
//	loadgen -name gatehouse -pid 1234 -url http://127.0.0.1:6101 -app bench:bench-key-4f1c2a:bench-secret-9d3e7b51c08a
//	loadgen -name centrifugo -protocol centrifugo -pid 1235 -url http://127.0.0.1:6102 -api-key KEY
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	rtbench "gatehouse/bench/realtime"
)

func main() {
	var cfg rtbench.Config
	var base, apiBase, appSpec, mode, sources string
	var budget time.Duration
	flag.StringVar(&cfg.Name, "name", "server", "label of the result")
	flag.StringVar(&cfg.Protocol, "protocol", rtbench.ProtocolPusher, "wire protocol: pusher or centrifugo")
	flag.StringVar(&cfg.APIKey, "api-key", "", "HTTP API key (centrifugo: X-API-Key)")
	flag.IntVar(&cfg.PID, "pid", 0, "server process id (RSS and CPU are read from /proc)")
	flag.StringVar(&base, "url", "http://127.0.0.1:6101", "server base URL (loopback); ws:// is derived")
	flag.StringVar(&apiBase, "api-url", "", "HTTP API base to publish through, when not -url (another node: cross-node figures)")
	flag.StringVar(&appSpec, "app", "bench:bench-key-4f1c2a:bench-secret-9d3e7b51c08a", "app as id:key:secret (pusher)")
	flag.IntVar(&cfg.Conns, "conns", 10000, "idle sockets")
	flag.IntVar(&cfg.Subscribers, "subscribers", 2000, "sockets on the channel events go to")
	flag.IntVar(&cfg.LatencyEvents, "latency-events", 50, "events timed for latency")
	flag.DurationVar(&cfg.Spacing, "spacing", 100*time.Millisecond, "gap between latency events")
	flag.IntVar(&cfg.CPUEvents, "cpu-events", 250, "events published for the CPU figure")
	flag.IntVar(&cfg.Window, "window", 8, "events in flight during the CPU run")
	flag.IntVar(&cfg.Payload, "payload", 128, "bytes of each event's data")
	flag.DurationVar(&cfg.Settle, "settle", 3*time.Second, "wait before each RSS reading")
	flag.DurationVar(&budget, "budget", 3*time.Minute, "give up after this long")
	flag.StringVar(&mode, "mode", "fanout", "fanout (memory, latency, CPU), throughput (deliveries/s with the client not reading) or storm (every socket at once)")
	flag.IntVar(&cfg.DialConcurrency, "dial-concurrency", 64, "handshakes in flight while connecting (fanout, throughput)")
	flag.StringVar(&cfg.Reader, "reader", rtbench.ReaderEpoll, "how the client reads its sockets: epoll (one goroutine, polling during the latency run), epoll-wait (one goroutine, never polling) or goroutines (one per socket)")
	flag.StringVar(&sources, "source-addrs", "", "comma-separated loopback addresses to dial from in turn (more sockets than one address has ports)")
	flag.StringVar(&cfg.ServerGOMAXPROCS, "server-gomaxprocs", "", "label: the server's GOMAXPROCS (throughput results)")
	summary := flag.String("summary", "", "print a Markdown table of the results in this file (JSON lines) and exit")
	check := flag.String("check", "", "compare -lead with its peers in the results in this file (JSON lines) and exit: 3 when it is behind on a figure of -led")
	lead := flag.String("lead", "gatehouse", "with -check: the server that must not fall behind")
	ledSpec := flag.String("led", "", "with -check: per peer, the figures -lead led it on, as peer:fig,fig (figures: rss, cpu, p50, p99)")
	tolerance := flag.Float64("tolerance", 5, "with -check: how much worse than a peer, in percent, still counts as level")
	flag.Parse()
	if *summary != "" {
		if err := summarize(*summary); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if *check != "" {
		behind, err := checkResults(*check, *lead, *ledSpec, *tolerance/100)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		if behind {
			os.Exit(3)
		}
		return
	}
	if sources != "" {
		cfg.SourceAddrs = strings.Split(sources, ",")
	}
	if err := run(cfg, mode, base, apiBase, appSpec, budget); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(cfg rtbench.Config, mode, base, apiBase, appSpec string, budget time.Duration) error {
	parts := strings.SplitN(appSpec, ":", 3)
	if len(parts) != 3 {
		return errors.New("-app must be id:key:secret")
	}
	cfg.App = rtbench.App{ID: parts[0], Key: parts[1], Secret: parts[2]}
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" {
		return errors.New("-url must be http://host:port")
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return errors.New("-url must be a loopback address")
	}
	if cfg.PID <= 0 {
		return errors.New("-pid is required")
	}
	cfg.APIURL = strings.TrimSuffix(base, "/")
	cfg.WSURL = "ws" + strings.TrimPrefix(cfg.APIURL, "http")
	if apiBase != "" {
		a, err := url.Parse(apiBase)
		if err != nil || a.Scheme != "http" || net.ParseIP(a.Hostname()) == nil || !net.ParseIP(a.Hostname()).IsLoopback() {
			return errors.New("-api-url must be http://loopback:port")
		}
		cfg.APIURL = strings.TrimSuffix(apiBase, "/")
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	if err := waitListening(ctx, u.Host); err != nil {
		return err
	}
	if err := checkOpenFiles(cfg.Conns); err != nil {
		return err
	}
	var res any
	switch mode {
	case "fanout":
		r, e := rtbench.Run(ctx, cfg)
		res, err = r, e
	case rtbench.ModeThroughput:
		r, e := rtbench.Throughput(ctx, cfg)
		res, err = r, e
	case rtbench.ModeStorm:
		r, e := rtbench.Storm(ctx, cfg)
		res, err = r, e
	default:
		return fmt.Errorf("-mode %q: want fanout, throughput or storm", mode)
	}
	if res != nil {
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
	}
	return err
}

// checkOpenFiles refuses a run that would hit the open-file limit halfway.
func checkOpenFiles(conns int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil
	}
	if uint64(conns)+256 > lim.Cur {
		return fmt.Errorf("%d sockets need more open files than the limit %d (hard %d): raise it with ulimit -n", conns, lim.Cur, lim.Max)
	}
	return nil
}

func summarize(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return rtbench.Summarize(f, os.Stdout)
}

// checkResults prints every comparison of rtbench.Check and reports
// whether lead is behind on any.
func checkResults(path, lead, ledSpec string, tolerance float64) (bool, error) {
	led, err := rtbench.ParseLed(ledSpec)
	if err != nil {
		return false, err
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	verdicts, err := rtbench.Check(f, lead, led, tolerance)
	if err != nil {
		return false, err
	}
	behind := false
	for _, v := range verdicts {
		fmt.Println(v.Line)
		behind = behind || v.Behind
	}
	return behind, nil
}

// waitListening waits until addr accepts TCP connections.
func waitListening(ctx context.Context, addr string) error {
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never listened: %w", addr, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
