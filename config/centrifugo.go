package config

import (
	"net/http"
	"net/url"
	"time"
)

// Centrifugo configures the Centrifugo v6 proxy endpoints
// (/webhooks/centrifugo/*): off unless enabled.
type Centrifugo struct {
	Enabled bool `yaml:"enabled"`
	// ProxyHeader, when set, must arrive on every proxy request (set it in
	// Centrifugo's proxy http.static_headers).
	ProxyHeader *StaticHeader `yaml:"proxy_header"`
	// API is Centrifugo's server HTTP API, used to disconnect the clients
	// of a logged-out session at once.
	API *CentrifugoAPI `yaml:"api"`
	// ServerSideChannels answers connect with the literal channels the
	// caller may subscribe to, for server-side subscriptions.
	ServerSideChannels bool `yaml:"server_side_channels"`
	// RefreshInterval bounds how long Centrifugo keeps a connection before
	// it asks the refresh proxy again [tokens.ttl].
	RefreshInterval time.Duration `yaml:"refresh_interval"`
}

// StaticHeader is a header name and its secret value.
type StaticHeader struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value" redact:"true"`
}

// CentrifugoAPI is Centrifugo's HTTP API endpoint and key.
type CentrifugoAPI struct {
	URL string `yaml:"url"`
	Key string `yaml:"key" redact:"true"`
}

func (cfg *Config) validateCentrifugo(c *checker) {
	cf := cfg.Centrifugo
	if h := cf.ProxyHeader; h != nil {
		if h.Name == "" || http.CanonicalHeaderKey(h.Name) == "" {
			c.add("centrifugo.proxy_header.name", "is required")
		}
		if len(h.Value) < 16 {
			c.add("centrifugo.proxy_header.value", "must be at least 16 characters (a shared secret)")
		}
	}
	if cf.RefreshInterval < 0 || (cf.RefreshInterval > 0 && cf.RefreshInterval < time.Second) {
		c.add("centrifugo.refresh_interval", "must be at least 1s")
	}
	if a := cf.API; a != nil {
		if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.add("centrifugo.api.url", "%q is not an http(s) URL (Centrifugo's API, e.g. http://centrifugo:8000/api)", a.URL)
		}
		if a.Key == "" {
			c.add("centrifugo.api.key", "is required (Centrifugo's http_api.key)")
		}
	}
}
