package main

import (
	"fmt"
	"io"
	"os"
)

// prepareDev creates the data directory `gatehouse dev` keeps its state in.
func prepareDev(dataDir string) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("dev: data dir: %w", err)
	}
	return nil
}

// printBanner tells the developer what is running and where.
func printBanner(w io.Writer, e env, banner []string) {
	fmt.Fprintf(w, "Gatehouse dev: NOT FOR PRODUCTION\n")
	fmt.Fprintf(w, "  listening   %s\n", e.cfg.Server.PublicURL)
	fmt.Fprintf(w, "  issuer      %s\n", e.cfg.Tokens.Issuer)
	fmt.Fprintf(w, "  jwks        %s/.well-known/jwks.json\n", e.cfg.Server.PublicURL)
	fmt.Fprintf(w, "  data dir    %s\n", e.dataDir)
	for _, l := range banner {
		fmt.Fprintf(w, "  %s\n", l)
	}
}
