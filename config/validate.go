package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// supportedAlgs are the signing algorithms Gatehouse supports (README,
// "Commands": keys generate).
var supportedAlgs = map[string]bool{"ES256": true, "ES384": true, "ES512": true, "RS256": true, "PS256": true, "EdDSA": true, "HS256": true}

var appIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Error lists every problem found, each naming its key.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return "config: invalid:\n  " + strings.Join(e.Problems, "\n  ")
}

type checker struct {
	problems []string
	written  written
}

// add records a problem with key, pointing at the line the operator wrote
// it on when they did.
func (c *checker) add(key, format string, args ...any) {
	c.problems = append(c.problems, key+c.written.at(key)+": "+fmt.Sprintf(format, args...))
}

// Validate checks the configuration, filling derived defaults (issuer from
// public_url, cookie name). It returns an *Error listing every problem.
func (cfg *Config) Validate(mode Mode) error {
	c := &checker{written: cfg.written}
	s := &cfg.Server
	if _, _, err := net.SplitHostPort(s.Addr); err != nil {
		c.add("server.addr", "%q is not host:port", s.Addr)
	}
	if s.PublicURL != "" {
		if u, err := url.Parse(s.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			c.add("server.public_url", "%q must be an absolute http(s) URL without path or query", s.PublicURL)
		} else {
			s.PublicURL = strings.TrimSuffix(s.PublicURL, "/")
		}
	} else if mode == Serve {
		c.add("server.public_url", "is required")
	}
	for i, p := range s.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				c.add(fmt.Sprintf("server.trusted_proxies[%d]", i), "%q is not a CIDR or IP", p)
			}
		}
	}
	if s.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(s.MetricsAddr); err != nil {
			c.add("server.metrics_addr", "%q is not host:port", s.MetricsAddr)
		} else if s.MetricsAddr == s.Addr {
			c.add("server.metrics_addr", "must differ from server.addr")
		}
	}
	if s.ShutdownGrace < 0 {
		c.add("server.shutdown_grace", "must not be negative")
	}
	cfg.validateKeys(c, mode)
	cfg.validateTokens(c)
	cfg.validateOIDC(c, mode)
	cfg.validatePolicy(c)
	cfg.validateApps(c)
	cfg.validateIssuers(c)
	cfg.validateInbound(c)
	cfg.validateHistory(c)
	cfg.validateCentrifugo(c)
	cfg.validateNATS(c)
	cfg.validateRabbitMQ(c)
	cfg.validateRealtime(c)
	if p := cfg.Profiles.Ably; p != nil {
		if !strings.Contains(p.KeyName, ".") {
			c.add("profiles.ably.key_name", "%q must look like appId.keyId", p.KeyName)
		}
		if p.KeySecret == "" {
			c.add("profiles.ably.key_secret", "is required")
		}
	}
	if len(c.problems) > 0 {
		return &Error{Problems: c.problems}
	}
	return nil
}

func (cfg *Config) validateKeys(c *checker, mode Mode) {
	if len(cfg.Keys.Signing) == 0 && cfg.Keys.Dir == "" && mode == Serve {
		c.add("keys", "set keys.dir (keys generated once and kept there) or keys.signing")
	}
	kids := map[string]bool{}
	for i, k := range cfg.Keys.Signing {
		key := fmt.Sprintf("keys.signing[%d]", i)
		if !supportedAlgs[k.Alg] {
			c.add(key+".alg", "unsupported %q", k.Alg)
		}
		if k.KID == "" {
			c.add(key+".kid", "is required")
		} else if kids[k.KID] {
			c.add(key+".kid", "duplicate %q", k.KID)
		}
		kids[k.KID] = true
		if k.File == "" {
			c.add(key+".file", "is required")
		}
	}
}

func (cfg *Config) validateTokens(c *checker) {
	t := &cfg.Tokens
	if t.Issuer == "" {
		t.Issuer = cfg.Server.PublicURL
	}
	if t.Audience == "" {
		c.add("tokens.audience", "must not be empty")
	}
	if t.TTL <= 0 || t.TTL > time.Hour {
		c.add("tokens.ttl", "%s out of range (0, 1h]", t.TTL)
	}
	a := &t.Anonymous
	if a.TTL <= 0 || a.TTL > time.Hour {
		c.add("tokens.anonymous.ttl", "%s out of range (0, 1h]", a.TTL)
	}
	cfg.validateAnonymousAlgorithms(c)
	if a.Rate.PerIP <= 0 {
		c.add("tokens.anonymous.rate.per_ip", "must be positive")
	}
	if a.Rate.Per <= 0 {
		c.add("tokens.anonymous.rate.per", "must be positive")
	}
}

// validateAnonymousAlgorithms derives tokens.anonymous.algorithms when the
// operator did not write it (the algorithms of keys.signing, first key's
// first; DefaultAnonymousAlgorithms when keys are generated under keys.dir)
// and checks it only when anonymous tokens are on: a list that is never
// used is no reason to refuse a config.
func (cfg *Config) validateAnonymousAlgorithms(c *checker) {
	a := &cfg.Tokens.Anonymous
	const key = "tokens.anonymous.algorithms"
	if !c.written.has(key) && len(a.Algorithms) == 0 {
		if len(cfg.Keys.Signing) == 0 {
			a.Algorithms = append([]string(nil), DefaultAnonymousAlgorithms...)
		} else {
			for _, k := range cfg.Keys.Signing {
				if supportedAlgs[k.Alg] && k.Alg != "HS256" && !contains(a.Algorithms, k.Alg) {
					a.Algorithms = append(a.Algorithms, k.Alg)
				}
			}
		}
	}
	if !On(a.Enabled) {
		return
	}
	if len(a.Algorithms) == 0 {
		if c.written.has(key) {
			c.add(key, "must list at least one algorithm")
		} else {
			c.add(key, "no key in keys.signing can sign anonymous tokens (HS256 cannot); add an asymmetric key or disable tokens.anonymous")
		}
	}
	for i, alg := range a.Algorithms {
		k := fmt.Sprintf("%s[%d]", key, i)
		if !supportedAlgs[alg] || alg == "HS256" {
			c.add(k, "unsupported %q", alg)
		} else if len(cfg.Keys.Signing) > 0 && !hasAlg(cfg.Keys.Signing, alg) {
			c.add(k, "no key in keys.signing has alg %q", alg)
		}
	}
}

func hasAlg(ks []SigningKey, alg string) bool {
	for _, k := range ks {
		if k.Alg == alg {
			return true
		}
	}
	return false
}

func (cfg *Config) validateOIDC(c *checker, mode Mode) {
	o := &cfg.OIDC
	names := map[string]bool{}
	for i, p := range o.Providers {
		key := fmt.Sprintf("oidc.providers[%d]", i)
		if !appIDPattern.MatchString(p.Name) {
			c.add(key+".name", "%q must be 1-64 of [A-Za-z0-9_-]", p.Name)
		} else if names[p.Name] {
			c.add(key+".name", "duplicate %q", p.Name)
		}
		names[p.Name] = true
		u, err := url.Parse(p.Issuer)
		switch {
		case err != nil || u.Host == "":
			c.add(key+".issuer", "%q is not an absolute URL", p.Issuer)
		case u.Scheme == "http" && !p.InsecureAllowHTTP:
			c.add(key+".issuer", "%q uses http; set insecure_allow_http for loopback test providers only", p.Issuer)
		case u.Scheme != "https" && u.Scheme != "http":
			c.add(key+".issuer", "%q must be https", p.Issuer)
		}
		if p.ClientID == "" {
			c.add(key+".client_id", "is required")
		}
		if len(p.Scopes) == 0 {
			o.Providers[i].Scopes = []string{"openid", "profile", "email"}
		} else if !contains(p.Scopes, "openid") {
			c.add(key+".scopes", "must include openid")
		}
	}
	for i, r := range o.RedirectAllowlist {
		if u, err := url.Parse(r); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			c.add(fmt.Sprintf("oidc.redirect_allowlist[%d]", i), "%q is not an http(s) origin", r)
		}
	}
	s := &o.Session
	if s.CookieName == "" {
		if strings.HasPrefix(cfg.Server.PublicURL, "https://") {
			s.CookieName = "__Host-gatehouse"
		} else {
			s.CookieName = "gatehouse"
		}
	}
	devIDP := On(cfg.DevIDP.Enabled)
	if mode == Serve && devIDP {
		switch {
		case strings.HasPrefix(cfg.Server.PublicURL, "https://"):
			c.add("dev_idp.enabled", "the development identity provider lets anyone log in as anyone with any role; it is refused with an https public_url")
		case !cfg.DevIDP.InsecureAllowInServe:
			c.add("dev_idp.enabled", "the development identity provider lets anyone log in as anyone with any role; serve refuses it unless dev_idp.insecure_allow_in_serve is true (test deployments only)")
		}
	}
	if mode == Serve && (len(o.Providers) > 0 || devIDP) && len(s.HashKeys) == 0 {
		c.add("oidc.session.hash_keys", "required when providers are configured")
	}
	for i, k := range s.HashKeys {
		if n := b64Len(k); n != 32 && n != 64 {
			c.add(fmt.Sprintf("oidc.session.hash_keys[%d]", i), "must be 32 or 64 bytes, base64 encoded")
		}
	}
	if len(s.HashKeys) > 0 && len(s.BlockKeys) == 0 {
		c.add("oidc.session.block_keys", "required with hash_keys (sessions are encrypted)")
	}
	for i, k := range s.BlockKeys {
		if b64Len(k) != 32 {
			c.add(fmt.Sprintf("oidc.session.block_keys[%d]", i), "must be 32 bytes, base64 encoded")
		}
	}
	if s.MaxAge <= 0 {
		c.add("oidc.session.max_age", "must be positive")
	}
	if s.IdleTimeout <= 0 {
		c.add("oidc.session.idle_timeout", "must be positive")
	}
}

func b64Len(s string) int {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return len(b)
		}
	}
	return -1
}

// DecodeKey decodes a base64 key in any of the standard alphabets.
func DecodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("config: not base64")
}

func (cfg *Config) validatePolicy(c *checker) {
	for i, r := range cfg.Policy.Rules {
		if len(r.Subscribe) == 0 && len(r.Publish) == 0 {
			c.add(fmt.Sprintf("policy.rules[%d]", i), "grants nothing (give subscribe or publish)")
		}
	}
}

func (cfg *Config) validateApps(c *checker) {
	ids, keys := map[string]bool{}, map[string]bool{}
	for i, a := range cfg.Apps {
		key := fmt.Sprintf("apps[%d]", i)
		if !appIDPattern.MatchString(a.ID) {
			c.add(key+".id", "%q must be 1-64 of [A-Za-z0-9_-]", a.ID)
		} else if ids[a.ID] {
			c.add(key+".id", "duplicate %q", a.ID)
		}
		ids[a.ID] = true
		// key and secret are the app's Pusher credentials: both, or
		// neither for an app that serves only the JWT-topic protocol.
		switch {
		case a.Key == "" && a.Secret == "":
			if len(a.Webhooks) > 0 {
				c.add(key+".webhooks", "are signed with the app's secret: give key and secret")
			}
		case a.Key == "":
			c.add(key+".key", "is required with a secret (or leave out both for an app without Pusher clients)")
		case keys[a.Key]:
			c.add(key+".key", "duplicate")
		}
		if a.Key != "" {
			keys[a.Key] = true
		}
		if (a.Key != "" || a.Secret != "") && len(a.Secret) < 16 {
			c.add(key+".secret", "must be at least 16 characters")
		}
		if a.EncryptionMasterKey != "" && b64Len(a.EncryptionMasterKey) != 32 {
			c.add(key+".encryption_master_key", "must be 32 bytes, base64 encoded")
		}
		checkSources(c, key+".client_source_address", a.ClientSourceAddress)
		checkSources(c, key+".admin_source_address", a.AdminSourceAddress)
		for j, w := range a.Webhooks {
			if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				c.add(fmt.Sprintf("%s.webhooks[%d].url", key, j), "%q is not an http(s) URL", w.URL)
			}
			for k, e := range w.Events {
				switch e {
				case "channel_occupied", "channel_vacated", "member_added", "member_removed", "client_event":
				default:
					c.add(fmt.Sprintf("%s.webhooks[%d].events[%d]", key, j, k), "unknown event %q", e)
				}
			}
		}
	}
}

func checkSources(c *checker, key string, list []string) {
	if len(list) > 10 {
		c.add(key, "at most 10 entries")
	}
	for i, s := range list {
		s = strings.TrimPrefix(s, "!")
		if _, err := netip.ParsePrefix(s); err != nil {
			if _, err := netip.ParseAddr(s); err != nil {
				c.add(fmt.Sprintf("%s[%d]", key, i), "%q is not a CIDR or IP", s)
			}
		}
	}
}

func (cfg *Config) validateRealtime(c *checker) {
	r := &cfg.Realtime
	switch r.Backplane {
	case "memory":
	case "redis":
		cfg.validateRedis(c)
	default:
		c.add("realtime.backplane", "unknown %q (memory or redis)", r.Backplane)
	}
	l := r.Limits
	for _, f := range []struct {
		key string
		v   int
	}{
		{"max_connections", l.MaxConnections}, {"max_message_bytes", l.MaxMessageBytes},
		{"client_events_per_second", l.ClientEventsPerSecond}, {"presence_members", l.PresenceMembers},
		{"channels_per_connection", l.ChannelsPerConnection}, {"frames_per_second", l.FramesPerSecond},
		{"frame_burst", l.FrameBurst}, {"anonymous_presence_per_ip", l.AnonymousPresencePerIP},
	} {
		if f.v <= 0 {
			c.add("realtime.limits."+f.key, "must be positive")
		}
	}
	if l.ConnectionsPerIP < 0 {
		c.add("realtime.limits.connections_per_ip", "must not be negative (0 is no cap)")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
