package main

import (
	"fmt"
	"io"
	"os"
)

// prepareDev creates the data directory `gatehouse dev` keeps its state in.
func prepareDev(a *app) error {
	if err := os.MkdirAll(a.dataDir, 0o700); err != nil {
		return fmt.Errorf("dev: data dir: %w", err)
	}
	return nil
}

// printBanner tells the developer what is running and where.
func printBanner(w io.Writer, a *app) {
	fmt.Fprintf(w, "Gatehouse dev: NOT FOR PRODUCTION\n")
	fmt.Fprintf(w, "  listening   %s\n", a.cfg.Server.PublicURL)
	fmt.Fprintf(w, "  issuer      %s\n", a.cfg.Tokens.Issuer)
	fmt.Fprintf(w, "  jwks        %s/.well-known/jwks.json\n", a.cfg.Server.PublicURL)
	fmt.Fprintf(w, "  data dir    %s\n", a.dataDir)
	for _, l := range a.banner {
		fmt.Fprintf(w, "  %s\n", l)
	}
}
