package rtbench_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	rtbench "gatehouse/bench/realtime"
)

// The Centrifugo tests run the real Centrifugo that scripts/brokers.sh
// builds, with the config scripts/bench-realtime.sh gives it. A missing
// binary fails them: `make test` builds it first (make deps), and a
// protocol mode that never met the server must not look tested.

// centrifugoVersion is the version scripts/brokers.sh builds.
const centrifugoVersion = "v6.9.1"

// centrifugoBin is $CENTRIFUGO_BIN, or the binary in the brokers cache.
func centrifugoBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CENTRIFUGO_BIN"); p != "" {
		return p
	}
	dir := os.Getenv("GATEHOUSE_CACHE_DIR")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(home, ".cache", "gatehouse")
	}
	p := filepath.Join(dir, "centrifugo-"+centrifugoVersion, "centrifugo")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: run scripts/brokers.sh (make deps) to build Centrifugo %s", p, centrifugoVersion)
	}
	return p
}

// centrifugo is one Centrifugo process on a loopback port.
type centrifugo struct {
	url    string // http://127.0.0.1:port
	pid    int
	apiKey string // http_api.key of the config
}

// startCentrifugo starts Centrifugo on a free loopback port with
// centrifugo.json, the benchmark's config, and stops it by PID when t ends.
func startCentrifugo(t *testing.T) centrifugo {
	t.Helper()
	raw, err := os.ReadFile("centrifugo.json")
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		HTTPAPI struct {
			Key string `json:"key"`
		} `json:"http_api"`
	}
	if err := json.Unmarshal(raw, &conf); err != nil || conf.HTTPAPI.Key == "" {
		t.Fatalf("centrifugo.json: http_api.key missing (%v)", err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	logf, err := os.Create(filepath.Join(dir, "centrifugo.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(centrifugoBin(t), "--config", file, "--http_server.port", strconv.Itoa(port))
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GOMAXPROCS=1"}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			break
		}
		select {
		case <-done:
			b, _ := os.ReadFile(filepath.Join(dir, "centrifugo.log"))
			t.Fatalf("centrifugo exited: %s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("centrifugo never listened on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return centrifugo{url: "http://" + addr, pid: cmd.Process.Pid, apiKey: conf.HTTPAPI.Key}
}

func centrifugoConfig(s centrifugo) rtbench.Config {
	return toy(rtbench.Config{
		Name: "centrifugo", Protocol: rtbench.ProtocolCentrifugo, PID: s.pid,
		WSURL: "ws" + strings.TrimPrefix(s.url, "http"), APIURL: s.url, APIKey: s.apiKey,
	})
}

// TestRunCentrifugo runs the whole measurement at toy scale against the
// real Centrifugo with the benchmark's config: anonymous sockets subscribe,
// every event published through /api/publish reaches every subscriber once,
// and each is timed.
func TestRunCentrifugo(t *testing.T) {
	s := startCentrifugo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := rtbench.Run(ctx, centrifugoConfig(s))
	if err != nil {
		t.Fatal(err)
	}
	checkToy(t, res)
}

// TestRunCentrifugoWrongKey checks that a publish Centrifugo refuses ends
// the run with its answer instead of waiting for deliveries.
func TestRunCentrifugoWrongKey(t *testing.T) {
	s := startCentrifugo(t)
	cfg := centrifugoConfig(s)
	cfg.APIKey = "not-" + s.apiKey
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := rtbench.Run(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "401") || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run with a wrong API key: %v, want the API's 401", err)
	}
}
