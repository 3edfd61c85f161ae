package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatehouse/config"
	"gatehouse/issuer"
	"gatehouse/keys"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.Contains(out, "gatehouse") || !strings.Contains(out, "go1.") {
		t.Fatalf("%d %q", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}, {"config"}, {"keys", "rotate"}, {"token"}, {"dev", "--bogus"}, {"dev", "extra"}} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Fatalf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestKeysGenerate(t *testing.T) {
	code, out, _ := runCLI(t, "keys", "generate", "--alg", "EdDSA")
	if code != 0 || !strings.HasPrefix(out, "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("%d %q", code, out)
	}
	path := filepath.Join(t.TempDir(), "sub", "hs.pem")
	if code, _, e := runCLI(t, "keys", "generate", "--alg", "HS256", "--out", path); code != 0 {
		t.Fatalf("%d %s", code, e)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", err, st.Mode())
	}
	if code, _, _ := runCLI(t, "keys", "generate", "--alg", "HS256", "--out", path); code != 1 {
		t.Fatal("overwrote an existing key")
	}
	if code, _, e := runCLI(t, "keys", "generate", "--alg", "ES257"); code != 1 || !strings.Contains(e, "unsupported") {
		t.Fatalf("%d %q", code, e)
	}
}

func writeConfig(t *testing.T, body string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func TestConfigCheck(t *testing.T) {
	t.Setenv("APP_SECRET", "0123456789abcdef-secret")
	good, _ := writeConfig(t, "server: {public_url: https://rt.example.com}\nkeys: {dir: /tmp/k}\napps:\n  - id: chat\n    key: k1\n    secret: ${APP_SECRET}\n")
	code, out, e := runCLI(t, "config", "check", "--config", good)
	if code != 0 {
		t.Fatalf("%d %s", code, e)
	}
	if strings.Contains(out, "0123456789abcdef-secret") || !strings.Contains(out, config.Redacted) {
		t.Fatalf("secret printed:\n%s", out)
	}
	bad, _ := writeConfig(t, "server: {public_url: https://rt.example.com}\nkeys: {signing: [{kid: a, alg: ES257, file: f}]}\n")
	code, _, e = runCLI(t, "config", "check", "--config", bad)
	if code != 1 || !strings.Contains(e, `keys.signing[0].alg (line 2): unsupported "ES257"`) {
		t.Fatalf("%d %q", code, e)
	}
	// GATEHOUSE_CONFIG stands in for --config.
	t.Setenv("GATEHOUSE_CONFIG", good)
	if code, _, e := runCLI(t, "config", "check"); code != 0 {
		t.Fatalf("from env: %d %s", code, e)
	}
}

func TestServeRefusesInvalidConfig(t *testing.T) {
	bad, _ := writeConfig(t, "server: {public_url: https://rt.example.com, addr: nope}\nkeys: {dir: /tmp/k}\n")
	code, _, e := runCLI(t, "serve", "--config", bad)
	if code != 1 || !strings.Contains(e, "server.addr") {
		t.Fatalf("%d %q", code, e)
	}
	if code, _, e := runCLI(t, "serve"); code != 1 || !strings.Contains(e, "--config") {
		t.Fatalf("serve without config: %d %q", code, e)
	}
}

func TestTokenMint(t *testing.T) {
	keyDir := filepath.Join(t.TempDir(), "keys")
	cfgPath, _ := writeConfig(t, "server: {public_url: https://rt.example.com}\nkeys: {dir: "+keyDir+"}\n")
	code, out, e := runCLI(t, "token", "mint", "--config", cfgPath, "--sub", "svc:indexer",
		"--perm", "realtime:publisher:write:topic:news", "--role", "service", "--ttl", "12h")
	if code != 0 {
		t.Fatalf("%d %s", code, e)
	}
	if strings.Count(out, "\n") != 1 || strings.Count(strings.TrimSpace(out), ".") != 2 {
		t.Fatalf("stdout must be exactly one token line: %q", out)
	}
	ks, err := keys.LoadDir(keyDir, []string{keys.ES256, keys.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	iss, _ := issuer.New(issuer.Config{Issuer: "https://rt.example.com", Audience: "realtime"}, ks)
	c, err := iss.Verify(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "svc:indexer" || c.Anonymous || c.SessionID != "" || c.Roles[0] != "service" ||
		c.Permissions[0] != "realtime:publisher:write:topic:news" || c.ExpiresAt.Sub(c.IssuedAt.Time).Hours() != 12 {
		t.Fatalf("claims %+v", c)
	}
	// Profiles are part of the core: token mint can shape tokens for brokers.
	code, out, e = runCLI(t, "token", "mint", "--config", cfgPath, "--sub", "svc:indexer", "--profile", "centrifugo")
	if code != 0 || strings.Count(strings.TrimSpace(out), ".") != 2 {
		t.Fatalf("centrifugo profile: %d %q %q", code, out, e)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sub", "x", "--ttl", "25h"}, "ttl"},
		{[]string{"--sub", "x", "--perm", "admin"}, "token mint"},
		{[]string{"--perm", "realtime:publisher:write:topic:news"}, "--sub"},
		{[]string{"--sub", "x", "--profile", "nope"}, "unknown profile"},
	} {
		code, out, e := runCLI(t, append([]string{"token", "mint", "--config", cfgPath}, tc.args...)...)
		if code != 1 || out != "" || !strings.Contains(e, tc.want) {
			t.Fatalf("%v: %d %q %q", tc.args, code, out, e)
		}
	}
}
