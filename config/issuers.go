package config

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gatehouse/authn/trust"
)

// TrustedIssuer is an issuer whose tokens Gatehouse accepts without having
// minted them (docs/trusted-issuers.md). The key source is one of key,
// secret, jwks_url; with none of them the JWKS is found through the
// issuer's discovery.
type TrustedIssuer struct {
	Name              string        `yaml:"name"`
	Issuer            StringList    `yaml:"issuer"`
	JWKSURL           string        `yaml:"jwks_url"`
	Key               *PublicKeyRef `yaml:"key"`
	Secret            string        `yaml:"secret" redact:"true"`
	Algorithms        []string      `yaml:"algorithms"`
	Audience          StringList    `yaml:"audience"`
	Leeway            time.Duration `yaml:"leeway"`
	PermissionsClaim  string        `yaml:"permissions_claim"`
	RolesClaim        string        `yaml:"roles_claim"`
	GroupsClaim       string        `yaml:"groups_claim"`
	Grants            string        `yaml:"grants"`
	Fronts            []string      `yaml:"fronts"`
	InsecureAllowHTTP bool          `yaml:"insecure_allow_http"`
	// JWKSMinRefresh bounds JWKS re-reads on unknown kids (10 s when 0).
	JWKSMinRefresh time.Duration `yaml:"jwks_min_refresh"`
}

// PublicKeyRef is a PEM public key (or certificate), in a file or inline.
type PublicKeyRef struct {
	File string `yaml:"file"`
	PEM  string `yaml:"pem"`
}

// AppKey is an app's auth_key or admin_key: a reference to a trusted
// issuer ({issuer: name}) or, with source set, an inline key in the
// 21no.de shape ({source: raw, key: "<PEM or HS secret>", algorithms,
// issuer: [accepted iss], audience}); source jwks takes the JWKS URL in url.
type AppKey struct {
	Source           string        `yaml:"source"`
	Key              string        `yaml:"key" redact:"true"`
	URL              string        `yaml:"url"`
	Algorithms       []string      `yaml:"algorithms"`
	Issuer           StringList    `yaml:"issuer"`
	Audience         StringList    `yaml:"audience"`
	Leeway           time.Duration `yaml:"leeway"`
	PermissionsClaim string        `yaml:"permissions_claim"`
	// InsecureAllowHTTP permits an http:// JWKS URL (tests).
	InsecureAllowHTTP bool `yaml:"insecure_allow_http"`
}

// Inline reports whether k carries its own key rather than naming a
// trusted issuer.
func (k *AppKey) Inline() bool { return k.Source != "" }

// Fronts trusted issuers can be enabled on.
var issuerFronts = map[string]bool{"topics": true, "deepstream": true, "pusher": true, "exchange": true, "centrifugo": true, "nats": true, "forward_auth": true, "rabbitmq": true}

// GrantModes are the accepted values of issuers[].grants and apps[].grants.
var grantModes = map[string]bool{"": true, "token": true, "policy": true, "both": true}

var issuerNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// TrustConfig maps a trusted issuer onto the verifier's configuration,
// reading its key file.
func (t TrustedIssuer) TrustConfig() (trust.Config, error) {
	tc := trust.Config{
		Name: t.Name, Issuers: t.Issuer, Audience: t.Audience, Algorithms: t.Algorithms,
		Leeway: t.Leeway, Secret: []byte(t.Secret), JWKSURL: t.JWKSURL,
		InsecureAllowHTTP: t.InsecureAllowHTTP, MinRefreshInterval: t.JWKSMinRefresh,
	}
	if t.Key != nil {
		pem, err := t.Key.read()
		if err != nil {
			return tc, err
		}
		tc.PublicKeyPEM = pem
	}
	tc.Discovery = t.Key == nil && t.Secret == "" && t.JWKSURL == ""
	return tc, nil
}

func (r *PublicKeyRef) read() ([]byte, error) {
	switch {
	case r.File != "" && r.PEM != "":
		return nil, fmt.Errorf("key: give file or pem, not both")
	case r.File != "":
		b, err := os.ReadFile(r.File)
		if err != nil {
			return nil, fmt.Errorf("key.file: %w", err)
		}
		return b, nil
	case r.PEM != "":
		return []byte(r.PEM), nil
	}
	return nil, fmt.Errorf("key: file or pem is required")
}

// TrustConfig maps an inline app key onto a verifier configuration named
// name.
func (k *AppKey) TrustConfig(name string) trust.Config {
	tc := trust.Config{
		Name: name, Issuers: k.Issuer, Audience: k.Audience, Algorithms: k.Algorithms,
		Leeway: k.Leeway, InsecureAllowHTTP: k.InsecureAllowHTTP,
	}
	switch {
	case k.Source == "jwks":
		tc.JWKSURL = k.URL
	case strings.HasPrefix(strings.TrimSpace(k.Key), "-----BEGIN"):
		tc.PublicKeyPEM = []byte(k.Key)
	default:
		tc.Secret = []byte(k.Key)
	}
	return tc
}

// validateIssuers checks issuers[] and the apps' keys that refer to them.
func (cfg *Config) validateIssuers(c *checker) {
	names := map[string]bool{}
	for i, t := range cfg.Issuers {
		key := fmt.Sprintf("issuers[%d]", i)
		if !issuerNamePattern.MatchString(t.Name) {
			c.add(key+".name", "%q must be 1-64 of [A-Za-z0-9_.-]", t.Name)
		} else if names[t.Name] {
			c.add(key+".name", "duplicate %q", t.Name)
		}
		names[t.Name] = true
		if t.JWKSMinRefresh != 0 && (t.JWKSMinRefresh < time.Second || t.JWKSMinRefresh > time.Hour) {
			c.add(key+".jwks_min_refresh", "%s is outside [1s, 1h]", t.JWKSMinRefresh)
		}
		if !grantModes[t.Grants] {
			c.add(key+".grants", "%q must be token, policy or both", t.Grants)
		}
		for j, f := range t.Fronts {
			if !issuerFronts[f] {
				c.add(fmt.Sprintf("%s.fronts[%d]", key, j), "unknown front %q (topics, deepstream, pusher, exchange, centrifugo, nats, forward_auth, rabbitmq)", f)
			}
		}
		tc, err := t.TrustConfig()
		if err == nil {
			err = trust.Check(tc)
		}
		if err != nil {
			c.add(key, "%v", err)
		}
	}
	for i, a := range cfg.Apps {
		if !grantModes[a.Grants] {
			c.add(fmt.Sprintf("apps[%d].grants", i), "%q must be token, policy or both", a.Grants)
		}
		for _, fk := range []struct {
			field string
			k     *AppKey
		}{{"auth_key", a.AuthKey}, {"admin_key", a.AdminKey}} {
			field, k := fk.field, fk.k
			if k == nil {
				continue
			}
			key := fmt.Sprintf("apps[%d].%s", i, field)
			if !k.Inline() {
				if len(k.Issuer) != 1 || !names[k.Issuer[0]] {
					c.add(key+".issuer", "must name one of issuers[].name (or give source: raw|jwks for an inline key)")
				}
				continue
			}
			switch k.Source {
			case "raw":
				if k.Key == "" {
					c.add(key+".key", "is required with source raw")
				}
			case "jwks":
				if k.URL == "" {
					c.add(key+".url", "is required with source jwks")
				}
			default:
				c.add(key+".source", "%q must be raw or jwks", k.Source)
				continue
			}
			if err := trust.Check(k.TrustConfig(key)); err != nil {
				c.add(key, "%v", err)
			}
		}
		if a.GatehouseTokens != nil && !*a.GatehouseTokens && a.AuthKey == nil && a.AdminKey == nil {
			c.add(fmt.Sprintf("apps[%d].gatehouse_tokens", i), "false leaves the app no way in: give auth_key or admin_key")
		}
	}
}

// Warnings are configurations that work but deserve a second look; config
// check prints them and serve logs them.
func (cfg *Config) Warnings() []string {
	var out []string
	for i, t := range cfg.Issuers {
		if len(t.Issuer) == 0 {
			out = append(out, fmt.Sprintf("issuers[%d] (%s): no issuer list: any token the key verifies is accepted, whatever its iss", i, t.Name))
		}
		if len(t.Audience) == 0 {
			out = append(out, fmt.Sprintf("issuers[%d] (%s): no audience: tokens the issuer minted for other APIs are accepted too", i, t.Name))
		}
	}
	for i, a := range cfg.Apps {
		for field, k := range map[string]*AppKey{"auth_key": a.AuthKey, "admin_key": a.AdminKey} {
			if k != nil && k.Inline() && len(k.Issuer) == 0 {
				out = append(out, fmt.Sprintf("apps[%d].%s: no issuer list: any token the key verifies is accepted, whatever its iss", i, field))
			}
		}
		slices.Sort(out[len(out)-min(len(out), 2):])
	}
	return out
}
