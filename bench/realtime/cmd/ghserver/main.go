// Command ghserver serves Gatehouse's realtime layer alone, wired as the
// gatehouse binary wires it (hub, in-memory backplane, Pusher front), for
// scripts/bench-realtime.sh. It listens on loopback only.
//
//	ghserver -addr 127.0.0.1:6101 -app bench:bench-key-4f1c2a:bench-secret-9d3e7b51c08a
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	rtbench "gatehouse/bench/realtime"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6101", "listen address (loopback)")
	appSpec := flag.String("app", "bench:bench-key-4f1c2a:bench-secret-9d3e7b51c08a", "app as id:key:secret")
	withPprof := flag.Bool("pprof", false, "serve /debug/pprof/ on the same address")
	memRate := flag.Int("memprofilerate", 0, "runtime.MemProfileRate when not 0 (1 records every allocation)")
	flag.Parse()
	if *memRate != 0 {
		runtime.MemProfileRate = *memRate
	}
	if err := run(*addr, *appSpec, *withPprof); err != nil {
		fmt.Fprintln(os.Stderr, "ghserver:", err)
		os.Exit(1)
	}
}

func run(addr, appSpec string, withPprof bool) error {
	parts := strings.SplitN(appSpec, ":", 3)
	if len(parts) != 3 {
		return errors.New("-app must be id:key:secret")
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return errors.New("-addr must be a loopback address")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, closeAll, err := rtbench.NewGatehouse(ctx, rtbench.App{ID: parts[0], Key: parts[1], Secret: parts[2]}, log)
	if err != nil {
		return err
	}
	defer closeAll()
	if withPprof {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.Handle("/", h)
		h = mux
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	fmt.Fprintln(os.Stderr, "ghserver: listening on", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
