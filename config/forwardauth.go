package config

// ForwardAuth configures GET /auth/verify (nginx auth_request, Traefik
// ForwardAuth, Caddy forward_auth) and /webhooks/nchan: on unless turned
// off.
type ForwardAuth struct {
	Enabled *bool `yaml:"enabled"`
	// PassToken adds a fresh realtime token for the caller to verified
	// answers (X-Auth-Request-Access-Token).
	PassToken bool `yaml:"pass_token"`
}
