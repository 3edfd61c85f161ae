package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"gatehouse/config"
	"gatehouse/issuer"
	"gatehouse/policy"
)

// cmdTokenMint mints a token for a trusted operator: permissions are written
// as given, no policy applies, and the ttl may reach 24h.
func cmdTokenMint(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token mint", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file (same keys as the server)")
	dataDir := fs.String("data-dir", "", "data dir of the server, when keys.dir is not set")
	sub := fs.String("sub", "", "subject")
	name := fs.String("name", "", "display name")
	var perms, roles, groups multiFlag
	fs.Var(&perms, "perm", "permission, e.g. realtime:subscriber:read:topic:chat (repeatable)")
	fs.Var(&roles, "role", "role (repeatable)")
	fs.Var(&groups, "group", "group (repeatable)")
	ttl := fs.Duration("ttl", 0, "lifetime, up to 24h (default tokens.ttl)")
	profile := fs.String("profile", "", "token profile (default, centrifugo, ably, ...)")
	channel := fs.String("channel", "", "channel, for the centrifugo-sub profile")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *cfgPath == "" {
		return errors.New("token mint: --config is required")
	}
	if *sub == "" {
		return errors.New("token mint: --sub is required")
	}
	cfg, err := loadOperatorConfig(*cfgPath, *dataDir)
	if err != nil {
		return err
	}
	_, iss, _, err := buildCore(cfg, keyDir(cfg, *dataDir), nil, nil)
	if err != nil {
		return err
	}
	grants, err := policy.ParsePermissions(perms)
	if err != nil {
		return fmt.Errorf("token mint: %w", err)
	}
	var params map[string]string
	if *channel != "" {
		params = map[string]string{"channel": *channel}
	}
	tok, err := iss.Mint(*profile, issuer.Request{
		Identity:     policy.Identity{Subject: *sub, Name: *name, Roles: roles, Groups: groups},
		Grants:       grants,
		TTL:          *ttl,
		AllowLongTTL: true,
		Params:       params,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok.Value)
	return nil
}

// loadOperatorConfig reads the server's config file for an offline command
// (token mint, keys export): its keys are the server's, found in keys.dir,
// keys.signing, or the server's --data-dir.
func loadOperatorConfig(path, dataDir string) (*config.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return config.ParseWith(data, config.Serve, os.LookupEnv, func(c *config.Config) {
		if dataDir != "" && c.Keys.Dir == "" && len(c.Keys.Signing) == 0 {
			c.Keys.Dir = dataDir + "/keys"
		}
	})
}
