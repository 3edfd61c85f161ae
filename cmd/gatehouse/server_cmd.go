package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"gatehouse/config"
)

type mode int

const (
	modeServe mode = iota
	modeDev
)

// cmdServer runs `gatehouse dev` or `gatehouse serve` until SIGINT/SIGTERM.
func cmdServer(args []string, m mode, stdout, stderr io.Writer) error {
	name := map[mode]string{modeDev: "dev", modeServe: "serve"}[m]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file (YAML)")
	addr := fs.String("addr", "", "listen address, overrides server.addr")
	dataDir := fs.String("data-dir", "", "where generated keys and state are kept (dev default ./.gatehouse)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if m == modeServe && *cfgPath == "" {
		return errors.New("serve: --config is required")
	}
	cfg, err := loadServerConfig(*cfgPath, m, *addr, *dataDir)
	if err != nil {
		return err
	}
	if m == modeDev && *dataDir == "" {
		*dataDir = ".gatehouse"
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	e := env{cfg: cfg, mode: m, dataDir: *dataDir, log: log}
	if m == modeDev {
		if err := prepareDev(e.dataDir); err != nil {
			return err
		}
	}
	s, err := build(ctx, e)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		_ = s.closeAll(context.Background())
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if a := cfg.Server.MetricsAddr; a != "" {
		mln, err := net.Listen("tcp", a)
		if err != nil {
			_ = ln.Close()
			_ = s.closeAll(context.Background())
			return fmt.Errorf("listen server.metrics_addr: %w", err)
		}
		msrv := &http.Server{Handler: metricsMux(s.core.metrics), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = msrv.Serve(mln) }()
		defer msrv.Close()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	if m == modeDev {
		printBanner(stdout, e, s.banner)
	}
	log.Info("gatehouse listening", "addr", ln.Addr().String(), "public_url", cfg.Server.PublicURL, "mode", name)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.Server.ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownGrace)
	defer cancel()
	err = srv.Shutdown(sctx)
	if cerr := s.closeAll(sctx); cerr != nil {
		log.Warn("close failed", "err", cerr)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// defaultGCPercent is the GC goal of a server that did not set GOGC. Most of
// a realtime server's heap is long-lived per-socket state; the Go default
// (100) lets the heap reach twice that before collecting, so RSS per idle
// socket was about twice its live size. 50 measured 17 % less RSS per socket
// at unchanged CPU per delivered message (BENCHMARKS.md).
const defaultGCPercent = 50

// tuneGC applies defaultGCPercent unless the operator chose with GOGC.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
}

// loadServerConfig loads the file over the mode's defaults and applies the
// --addr override; in dev, public_url follows the listen address.
func loadServerConfig(path string, m mode, addr, dataDir string) (*config.Config, error) {
	cm := config.Serve
	if m == modeDev {
		cm = config.Dev
	}
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	// The address must be known before validation: dev derives public_url
	// and the issuer from it.
	return config.ParseWith(data, cm, os.LookupEnv, func(c *config.Config) {
		if addr != "" {
			c.Server.Addr = addr
		}
		if m == modeServe && dataDir != "" && c.Keys.Dir == "" && len(c.Keys.Signing) == 0 {
			c.Keys.Dir = filepath.Join(dataDir, "keys")
		}
		if m == modeDev && c.Server.PublicURL == "" {
			host, port, err := net.SplitHostPort(c.Server.Addr)
			if err == nil {
				if host == "" || host == "0.0.0.0" || host == "::" {
					host = "127.0.0.1"
				}
				c.Server.PublicURL = "http://" + net.JoinHostPort(host, port)
			}
		}
	})
}

// keyDir is where generated keys live: keys.dir, or <data-dir>/keys in dev.
func keyDir(cfg *config.Config, dataDir string) string {
	if cfg.Keys.Dir != "" {
		return cfg.Keys.Dir
	}
	if dataDir != "" {
		return filepath.Join(dataDir, "keys")
	}
	return ""
}
