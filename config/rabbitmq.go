package config

import "net/url"

// RabbitMQ configures the answers to rabbitmq_auth_backend_http
// (/webhooks/rabbitmq/*): off unless enabled.
type RabbitMQ struct {
	Enabled bool `yaml:"enabled"`
	// Vhost is the one virtual host clients may use ["/"].
	Vhost string `yaml:"vhost"`
	// AnyUsername accepts any user name with a valid token; by default it
	// must be the token's subject, or the subject + ":" + anything.
	AnyUsername bool `yaml:"any_username"`
	// Management, when set, is RabbitMQ's management API, used to close a
	// logged-out session's connections.
	Management *RabbitMQManagement `yaml:"management"`
}

// RabbitMQManagement is the management API and an administrator's
// credentials.
type RabbitMQManagement struct {
	URL      string `yaml:"url"`
	User     string `yaml:"user"`
	Password string `yaml:"password" redact:"true"`
}

func (cfg *Config) validateRabbitMQ(c *checker) {
	m := cfg.RabbitMQ.Management
	if m == nil {
		return
	}
	if u, err := url.Parse(m.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.add("rabbitmq.management.url", "%q is not an http(s) URL (e.g. http://rabbitmq:15672)", m.URL)
	}
	if m.User == "" || m.Password == "" {
		c.add("rabbitmq.management", "user and password are required")
	}
}
