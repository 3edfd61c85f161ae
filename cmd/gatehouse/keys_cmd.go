package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

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

// cmdKeysExport prints the public half of one configured signing key: as a
// JWK (with x5c), a PEM public key, or the key's self-signed certificate
// (the same one the JWKS carries in x5c), for verifiers that want a file.
func cmdKeysExport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys export", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file (same keys as the server)")
	dataDir := fs.String("data-dir", "", "data dir of the server, when keys.dir is not set")
	kid := fs.String("kid", "", "key id (default: the active key)")
	format := fs.String("format", "pem", "jwk, pem or x509")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *cfgPath == "" {
		return errors.New("keys export: --config is required")
	}
	cfg, err := loadOperatorConfig(*cfgPath, *dataDir)
	if err != nil {
		return err
	}
	set, err := loadKeys(cfg, keyDir(cfg, *dataDir))
	if err != nil {
		return err
	}
	k := set.Active()
	if *kid != "" {
		var ok bool
		if k, ok = set.Lookup(*kid); !ok {
			return fmt.Errorf("keys export: no key with kid %q (have %s)", *kid, kidList(set))
		}
	}
	var out []byte
	switch *format {
	case "jwk":
		j, ok := k.JWK()
		if !ok {
			return fmt.Errorf("keys export: %s is a secret (HS256): nothing public to export", k.KID)
		}
		if out, err = json.MarshalIndent(j, "", "  "); err == nil {
			out = append(out, '\n')
		}
	case "pem":
		out, err = k.PublicPEM()
	case "x509":
		out, err = k.CertificatePEM()
	default:
		return fmt.Errorf("keys export: --format %q: want jwk, pem or x509", *format)
	}
	if err != nil {
		return fmt.Errorf("keys export: %w", err)
	}
	_, err = stdout.Write(out)
	return err
}

func kidList(s *keys.Set) string {
	var ids []string
	for _, k := range s.Keys() {
		ids = append(ids, k.KID)
	}
	return strings.Join(ids, ", ")
}
