package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"

	"gatehouse/config"
)

func cmdConfigCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	path := fs.String("config", "", "config file")
	if err := parseFlags(fs, args, stderr); err != nil {
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintf(stderr, "gatehouse: %v\n", err)
		return 1
	}
	if *path == "" {
		fmt.Fprintln(stderr, "gatehouse: config check: --config is required")
		return 2
	}
	cfg, err := config.LoadFile(*path, config.Serve)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	out, err := yaml.Marshal(cfg.Redact())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "# %s: valid\n%s", *path, out)
	return 0
}
