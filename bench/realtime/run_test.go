package rtbench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	rtbench "gatehouse/bench/realtime"
)

// TestRunSmall runs the whole measurement at toy scale against Gatehouse
// in this process, so the harness stays correct; the real figures come from
// scripts/bench-realtime.sh.
func TestRunSmall(t *testing.T) {
	for _, reader := range []string{rtbench.ReaderEpoll, rtbench.ReaderEpollWait, rtbench.ReaderGoroutines} {
		t.Run(reader, func(t *testing.T) { runSmall(t, reader) })
	}
}

// gatehouseConfig starts Gatehouse's realtime layer in this process and
// returns a toy Config measuring it with reader.
func gatehouseConfig(t *testing.T, reader string) rtbench.Config {
	t.Helper()
	app := rtbench.App{ID: "bench", Key: "bench-key", Secret: "bench-secret-0123456789"}
	h, closeAll, err := rtbench.NewGatehouse(context.Background(), app, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(func() { ts.Close(); closeAll() })
	return toy(rtbench.Config{
		Name: "gatehouse", PID: os.Getpid(), Reader: reader,
		WSURL: "ws" + strings.TrimPrefix(ts.URL, "http"), APIURL: ts.URL, App: app,
	})
}

func runSmall(t *testing.T, reader string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := rtbench.Run(ctx, gatehouseConfig(t, reader))
	if err != nil {
		t.Fatal(err)
	}
	checkToy(t, res)

	var lines bytes.Buffer
	for _, r := range []rtbench.Result{*res, {Name: "other", Conns: 40, Subscribers: 10, RSSPerConn: 2048, CPUPerDeliveryUS: 3}} {
		b, _ := json.Marshal(r)
		lines.Write(append(b, '\n'))
	}
	var table bytes.Buffer
	if err := rtbench.Summarize(&lines, &table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "| gatehouse | other |") || !strings.Contains(table.String(), "| 2.0 |") {
		t.Fatalf("table:\n%s", table.String())
	}
}

// toy sets the sizes of a toy run: 40 sockets, 10 of them subscribers,
// 3 latency events and 12 CPU events.
func toy(cfg rtbench.Config) rtbench.Config {
	cfg.Conns, cfg.Subscribers, cfg.IdleChannels = 40, 10, 3
	cfg.Settle, cfg.LatencyEvents, cfg.Spacing = 10*time.Millisecond, 3, time.Millisecond
	cfg.CPUEvents, cfg.Window, cfg.WarmupEvents = 12, 4, 2
	return cfg
}

// checkToy checks that a toy run delivered every event to every subscriber
// once, lost no socket and measured something plausible.
func checkToy(t *testing.T, res *rtbench.Result) {
	t.Helper()
	if res.LatencyDeliveries != 3*10 || res.CPUDeliveries != 12*10 || res.Dropped != 0 {
		t.Fatalf("deliveries: latency %d, cpu %d, dropped %d", res.LatencyDeliveries, res.CPUDeliveries, res.Dropped)
	}
	if res.CPUMessages <= 0 || res.CPUMessages > res.CPUDeliveries {
		t.Fatalf("%d messages carried %d deliveries", res.CPUMessages, res.CPUDeliveries)
	}
	if res.P99MS <= 0 || res.P50MS > res.P99MS || res.BaselineRSS <= 0 || res.CPUSeconds < 0 {
		t.Fatalf("implausible result %+v", res)
	}
}

// TestThroughputAndStormSmall runs the scale modes at toy scale with each
// reader: the throughput run stops the reads, publishes, then reads and
// counts every delivery; the storm opens every socket at once.
func TestThroughputAndStormSmall(t *testing.T) {
	for _, reader := range []string{rtbench.ReaderEpoll, rtbench.ReaderGoroutines} {
		t.Run(reader, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cfg := gatehouseConfig(t, reader)
			tp, err := rtbench.Throughput(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tp.Deliveries != int64(cfg.Conns*cfg.CPUEvents) || tp.Dropped != 0 || tp.DeliveriesPerSecond <= 0 {
				t.Fatalf("throughput: %+v", tp)
			}
			st, err := rtbench.Storm(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if st.Conns != cfg.Conns || st.Failed != 0 {
				t.Fatalf("storm: %+v", st)
			}
		})
	}
}
