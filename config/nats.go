package config

import (
	"net/url"
	"strings"
)

// NATS configures the NATS auth callout service: on when url is set.
type NATS struct {
	URL        string `yaml:"url"`
	User       string `yaml:"user"`
	Password   string `yaml:"password" redact:"true"`
	IssuerSeed string `yaml:"issuer_seed" redact:"true"`
	XKeySeed   string `yaml:"xkey_seed" redact:"true"`
	Account    string `yaml:"account"`
	// System, when written, is a user of NATS's system account: Gatehouse
	// then ends a logged-out session's NATS connections at once with the
	// system account's kick request, instead of at their JWT's expiry.
	System *NATSSystem `yaml:"system"`
}

// NATSSystem is the system-account user Gatehouse kicks connections with.
type NATSSystem struct {
	User     string `yaml:"user"`
	Password string `yaml:"password" redact:"true"`
}

func (cfg *Config) validateNATS(c *checker) {
	n := cfg.NATS
	if n.URL == "" {
		if n != (NATS{}) {
			c.add("nats.url", "is required when the nats section is written")
		}
		return
	}
	for i, u := range strings.Split(n.URL, ",") {
		p, err := url.Parse(strings.TrimSpace(u))
		if err != nil || p.Host == "" || (p.Scheme != "nats" && p.Scheme != "tls" && p.Scheme != "ws" && p.Scheme != "wss") {
			c.add("nats.url", "server %d (%q) is not a nats://, tls://, ws:// or wss:// URL", i+1, u)
		}
	}
	if n.User == "" {
		c.add("nats.user", "is required (one of the auth_callout's auth_users)")
	}
	if !strings.HasPrefix(n.IssuerSeed, "SA") || len(n.IssuerSeed) != 58 {
		c.add("nats.issuer_seed", "must be an account seed (58 characters starting SA; `nsc generate nkey --account`)")
	}
	if n.XKeySeed != "" && (!strings.HasPrefix(n.XKeySeed, "SX") || len(n.XKeySeed) != 58) {
		c.add("nats.xkey_seed", "must be a curve seed (58 characters starting SX; `nsc generate nkey --curve`)")
	}
	if n.Account == "" {
		c.add("nats.account", "is required (the account users are placed in)")
	}
	if s := n.System; s != nil {
		if s.User == "" {
			c.add("nats.system.user", "is required (a user of the system account, listed in the auth_callout's auth_users)")
		}
		if s.User != "" && s.User == n.User {
			c.add("nats.system.user", "must differ from nats.user (the callout user belongs to the auth_callout's account, not the system account)")
		}
	}
}
