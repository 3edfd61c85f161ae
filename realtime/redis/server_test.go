package redis

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/realtime"
	"gatehouse/realtime/backplanetest"
)

// The tests run against real redis-server processes on loopback. A missing
// redis-server fails the run: `make test` installs it, and a backplane that
// was never run against Redis must not look tested.

// redisServer is one redis-server process on a loopback port, without
// persistence: a restart starts it empty.
type redisServer struct {
	port  int
	dir   string
	args  []string // beyond port, address and persistence
	conf  string   // a configuration file to start with, if any
	ready string   // the log line that says it serves [Ready to accept connections]
	cmd   *exec.Cmd
	done  chan struct{}
}

var (
	sharedOnce   sync.Once
	sharedServer *redisServer
	sharedErr    error
	prefixes     atomic.Int64
)

func TestMain(m *testing.M) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: realtime/redis tests need redis-server on PATH (Debian: apt-get install redis-server); they never skip")
		os.Exit(1)
	}
	code := m.Run()
	if sharedCluster != nil {
		sharedCluster.stop()
	}
	if sharedServer != nil {
		sharedServer.stop()
		_ = os.RemoveAll(sharedServer.dir)
	}
	os.Exit(code)
}

// shared returns the URL of the redis-server most tests share; each test
// takes its own key prefix.
func shared(t *testing.T) string {
	t.Helper()
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-redis-")
		if err != nil {
			sharedErr = err
			return
		}
		sharedServer = &redisServer{dir: dir}
		sharedErr = sharedServer.start()
	})
	if sharedErr != nil {
		t.Fatalf("start redis-server: %v", sharedErr)
	}
	return sharedServer.url()
}

// ownServer starts a redis-server for t alone (tests that restart it).
func ownServer(t *testing.T) *redisServer {
	t.Helper()
	s := &redisServer{dir: t.TempDir()}
	if err := s.start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(s.stop)
	return s
}

func (s *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs redis-server (on the same port as before when restarting) and
// returns once it logged that it accepts connections.
func (s *redisServer) start() error {
	if s.port == 0 {
		p, err := freePort()
		if err != nil {
			return err
		}
		s.port = p
	}
	var args []string
	if s.conf != "" {
		args = append(args, s.conf)
	}
	args = append(args, "--port", fmt.Sprint(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--loglevel", "notice")
	args = append(args, s.args...)
	cmd := exec.Command("redis-server", args...)
	readyLine := s.ready
	if readyLine == "" {
		readyLine = "Ready to accept connections"
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.done = cmd, make(chan struct{})
	ready := make(chan struct{})
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			if !signalled {
				log.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), readyLine) {
					signalled = true
					close(ready)
				}
			}
		}
		_ = cmd.Wait()
		close(s.done)
	}()
	select {
	case <-ready:
		return nil
	case <-s.done:
		return fmt.Errorf("redis-server exited:\n%s", log.String())
	case <-time.After(10 * time.Second):
		s.stop()
		return fmt.Errorf("redis-server not ready after 10s:\n%s", log.String())
	}
}

// stop kills the server, as a crash would, and waits for it to be gone.
func (s *redisServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		panic("redis-server did not exit 30 s after SIGKILL")
	}
	s.cmd = nil
}

func (s *redisServer) restart(t *testing.T) {
	t.Helper()
	s.stop()
	if err := s.start(); err != nil {
		t.Fatalf("restart redis-server: %v", err)
	}
}

// testConfig is a config with a key prefix of t's own and a fast heartbeat.
func testConfig(url string, node string) Config {
	return Config{URL: url, Node: node, KeyPrefix: fmt.Sprintf("test%d:", prefixes.Add(1)), Heartbeat: 100 * time.Millisecond}
}

func newTest(t *testing.T, cfg Config) *Backplane {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	url := shared(t)
	backplanetest.Run(t, func(t *testing.T) realtime.Backplane {
		return newTest(t, testConfig(url, "n1"))
	})
}
