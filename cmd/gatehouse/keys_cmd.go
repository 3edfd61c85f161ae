package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gatehouse/keys"
)

func cmdKeysGenerate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys generate", flag.ContinueOnError)
	alg := fs.String("alg", "", "algorithm: ES256, ES384, ES512, RS256, PS256, EdDSA, HS256")
	out := fs.String("out", "", "file to write (0600, never overwritten); stdout when empty")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *alg == "" {
		return errors.New("keys generate: --alg is required")
	}
	k, err := keys.Generate(*alg)
	if err != nil {
		return err
	}
	if *out == "" {
		pem, err := k.MarshalPEM()
		if err != nil {
			return err
		}
		_, err = stdout.Write(pem)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o700); err != nil {
		return err
	}
	if err := keys.WriteFile(*out, k); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s key %s (kid %s)\n", k.Alg, *out, k.KID)
	return nil
}
