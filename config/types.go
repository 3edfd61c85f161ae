package config

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration file.
type Config struct {
	Server Server `yaml:"server"`
	Keys   Keys   `yaml:"keys"`
	Tokens Tokens `yaml:"tokens"`
	OIDC   OIDC   `yaml:"oidc"`
	DevIDP DevIDP `yaml:"dev_idp"`
	Policy Policy `yaml:"policy"`
	Apps   []App  `yaml:"apps"`
	// Issuers are trusted token issuers (bring your own IdP).
	Issuers     []TrustedIssuer `yaml:"issuers"`
	Deepstream  Deepstream      `yaml:"deepstream"`
	Centrifugo  Centrifugo      `yaml:"centrifugo"`
	NATS        NATS            `yaml:"nats"`
	ForwardAuth ForwardAuth     `yaml:"forward_auth"`
	RabbitMQ    RabbitMQ        `yaml:"rabbitmq"`
	Profiles    Profiles        `yaml:"profiles"`
	Realtime    Realtime        `yaml:"realtime"`

	// written records the keys the file set and their lines.
	written written
}

// Server configures the HTTP listener.
type Server struct {
	Addr           string        `yaml:"addr"`
	PublicURL      string        `yaml:"public_url"`
	TrustedProxies []string      `yaml:"trusted_proxies"`
	ShutdownGrace  time.Duration `yaml:"shutdown_grace"`
	// MetricsAddr moves /metrics to a listener of its own (e.g. on a
	// private interface); empty serves it with everything else.
	MetricsAddr string `yaml:"metrics_addr"`
}

// Keys configures signing keys.
type Keys struct {
	Dir     string       `yaml:"dir"`
	Signing []SigningKey `yaml:"signing"`
}

// SigningKey names one key file.
type SigningKey struct {
	KID  string `yaml:"kid"`
	Alg  string `yaml:"alg"`
	File string `yaml:"file"`
}

// Tokens configures minted realtime tokens.
type Tokens struct {
	Issuer    string        `yaml:"issuer"`
	Audience  string        `yaml:"audience"`
	TTL       time.Duration `yaml:"ttl"`
	Anonymous Anonymous     `yaml:"anonymous"`
}

// Anonymous configures anonymous tokens.
type Anonymous struct {
	Enabled    *bool         `yaml:"enabled"`
	TTL        time.Duration `yaml:"ttl"`
	Algorithms []string      `yaml:"algorithms"`
	Rate       Rate          `yaml:"rate"`
}

// Rate is a request budget per client IP.
type Rate struct {
	PerIP int           `yaml:"per_ip"`
	Per   time.Duration `yaml:"per"`
}

// OIDC configures the relying party.
type OIDC struct {
	Providers         []Provider `yaml:"providers"`
	RedirectAllowlist []string   `yaml:"redirect_allowlist"`
	Session           Session    `yaml:"session"`
}

// Provider is one OpenID Connect identity provider.
type Provider struct {
	Name              string   `yaml:"name"`
	Issuer            string   `yaml:"issuer"`
	ClientID          string   `yaml:"client_id"`
	ClientSecret      string   `yaml:"client_secret" redact:"true"`
	Scopes            []string `yaml:"scopes"`
	Audience          string   `yaml:"audience"`
	RolesClaim        string   `yaml:"roles_claim"`
	GroupsClaim       string   `yaml:"groups_claim"`
	InsecureAllowHTTP bool     `yaml:"insecure_allow_http"`
}

// Session configures the session cookie.
type Session struct {
	CookieName  string        `yaml:"cookie_name"`
	HashKeys    []string      `yaml:"hash_keys" redact:"true"`
	BlockKeys   []string      `yaml:"block_keys" redact:"true"`
	MaxAge      time.Duration `yaml:"max_age"`
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// DevIDP configures the built-in development identity provider.
type DevIDP struct {
	Enabled *bool `yaml:"enabled"`
	// InsecureAllowInServe lets `serve` run the development identity
	// provider (anyone logs in as anyone, with any role): only for test
	// deployments on http. `serve` refuses it otherwise.
	InsecureAllowInServe bool `yaml:"insecure_allow_in_serve"`
}

// Policy is the grant policy of the README's "Policy" section.
type Policy struct {
	Anonymous Grant  `yaml:"anonymous"`
	Rules     []Rule `yaml:"rules"`
}

// Grant lists channel patterns.
type Grant struct {
	Subscribe []string `yaml:"subscribe"`
	Publish   []string `yaml:"publish"`
}

// Rule grants patterns to identities matching When.
type Rule struct {
	When      When     `yaml:"when"`
	Subscribe []string `yaml:"subscribe"`
	Publish   []string `yaml:"publish"`
}

// When holds a rule's conditions; all given ones must hold. Role, group,
// provider and email_domain take one value or a list (any matches).
type When struct {
	Authenticated *bool             `yaml:"authenticated"`
	Anonymous     *bool             `yaml:"anonymous"`
	Role          StringList        `yaml:"role"`
	Group         StringList        `yaml:"group"`
	Provider      StringList        `yaml:"provider"`
	EmailDomain   StringList        `yaml:"email_domain"`
	Claim         map[string]string `yaml:"claim"`
}

// App is a hosted realtime app and its credentials.
type App struct {
	ID                  string    `yaml:"id"`
	Key                 string    `yaml:"key"`
	Secret              string    `yaml:"secret" redact:"true"`
	ClientEvents        bool      `yaml:"client_events"`
	EncryptionMasterKey string    `yaml:"encryption_master_key" redact:"true"`
	ClientSourceAddress []string  `yaml:"client_source_address"`
	AdminSourceAddress  []string  `yaml:"admin_source_address"`
	Webhooks            []Webhook `yaml:"webhooks"`
	// AuthKey and AdminKey verify the tokens of the app's socket clients
	// and of its publish API (the 21no.de authKey and adminKey).
	AuthKey  *AppKey `yaml:"auth_key"`
	AdminKey *AppKey `yaml:"admin_key"`
	// Grants is where external tokens' grants come from: token, policy or
	// both (the default: the intersection).
	Grants string `yaml:"grants"`
	// GatehouseTokens, when false, refuses Gatehouse's own tokens on the
	// app's sockets and publish API.
	GatehouseTokens *bool `yaml:"gatehouse_tokens"`
	// InboundTopic turns on the topic clients' send() (the 21no.de
	// enableWebSocketInboundTopic): off unless enabled.
	InboundTopic *InboundTopic `yaml:"inbound_topic"`
	// History lists the channels that keep their recent events. An app
	// that does not write it has realtime.history's rules; one that does
	// has exactly its own (history: [] keeps nothing).
	History []HistoryRule `yaml:"history"`
}

// HistoryRule keeps the last Last events (and none older than TTL) of
// the channels any of Channels (policy globs) matches.
type HistoryRule struct {
	Channels StringList `yaml:"channels"`
	// Last is how many events are kept, 1 to 1000.
	Last int `yaml:"last"`
	// Limit is Last under the name earlier builds used; give one.
	Limit int           `yaml:"limit"`
	TTL   time.Duration `yaml:"ttl"`
}

// Kept is how many events the rule keeps: Last, or Limit when only it is
// given.
func (h HistoryRule) Kept() int {
	if h.Last != 0 {
		return h.Last
	}
	return h.Limit
}

// InboundTopic configures an app's inbound topic. In YAML it is a
// section, or a bool as SPEC writes it (inbound_topic: true is
// {enabled: true}).
type InboundTopic struct {
	Enabled bool `yaml:"enabled"`
	// Topic is its name ["secure/inbound"].
	Topic string `yaml:"topic"`
}

// UnmarshalYAML implements yaml.Unmarshaler: a bool, or the section with
// only its own keys.
func (t *InboundTopic) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var on bool
		if err := n.Decode(&on); err != nil {
			return fmt.Errorf("line %d: inbound_topic is true, false or {enabled, topic}", n.Line)
		}
		*t = InboundTopic{Enabled: on}
		return nil
	}
	if n.Kind == yaml.MappingNode {
		// A custom decoder loses the file's unknown-key check: keep it.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; k != "enabled" && k != "topic" {
				return fmt.Errorf("line %d: field %s not found in inbound_topic (enabled, topic)", n.Content[i].Line, k)
			}
		}
	}
	type plain InboundTopic
	return n.Decode((*plain)(t))
}

// Webhook is an app webhook target.
type Webhook struct {
	URL    string   `yaml:"url"`
	Events []string `yaml:"events"`
}

// Deepstream configures the deepstream login webhook.
type Deepstream struct {
	Enabled *bool `yaml:"enabled"`
}

// Profiles configures extra token shapes.
type Profiles struct {
	Ably       *AblyProfile       `yaml:"ably"`
	Centrifugo *CentrifugoProfile `yaml:"centrifugo"`
}

// AblyProfile holds the Ably API key the ably profile signs with.
type AblyProfile struct {
	KeyName   string `yaml:"key_name"`
	KeySecret string `yaml:"key_secret" redact:"true"`
}

// CentrifugoProfile configures Centrifugo tokens.
type CentrifugoProfile struct {
	Audience string `yaml:"audience"`
}

// Realtime configures the hosted realtime layer.
type Realtime struct {
	Backplane string `yaml:"backplane"`
	Redis     Redis  `yaml:"redis"`
	Limits    Limits `yaml:"limits"`
	// History lists the channels that keep their recent events, for every
	// hosted app that writes no apps[].history of its own.
	History []HistoryRule `yaml:"history"`
}

// Redis locates the Redis backplane.
type Redis struct {
	URL string `yaml:"url" redact:"url"`
	// Sentinel finds the primary through Redis Sentinel instead of URL.
	Sentinel *RedisSentinel `yaml:"sentinel"`
	// Cluster spreads the keys over a Redis Cluster instead of URL.
	Cluster *RedisCluster `yaml:"cluster"`
	// Shards is how many streams carry channel events [16].
	Shards int `yaml:"shards"`
	// StreamLength is about how many events each stream keeps [10000]:
	// the window within which a node resumes a lost connection.
	StreamLength int64 `yaml:"stream_length"`
	// WaitReplicas accepts a publish only once that many replicas hold it
	// (WAIT) [0]; with Sentinel or Cluster, 1 makes a failover lose no
	// accepted event.
	WaitReplicas int `yaml:"wait_replicas"`
	// WaitTimeout bounds that wait [1s].
	WaitTimeout time.Duration `yaml:"wait_timeout"`
}

// RedisSentinel names a primary watched by Redis Sentinel.
type RedisSentinel struct {
	// Master is the primary's name in the sentinels' configuration.
	Master string `yaml:"master"`
	// MasterName is the same under the name go-redis and earlier builds
	// use; give one of the two.
	MasterName       string   `yaml:"master_name"`
	Addrs            []string `yaml:"addrs"`
	Username         string   `yaml:"username"`
	Password         string   `yaml:"password" redact:"true"`
	SentinelUsername string   `yaml:"sentinel_username"`
	SentinelPassword string   `yaml:"sentinel_password" redact:"true"`
	DB               int      `yaml:"db"`
	TLS              bool     `yaml:"tls"`
}

// Primary is the primary's name, from master or master_name.
func (s *RedisSentinel) Primary() string {
	if s.Master != "" {
		return s.Master
	}
	return s.MasterName
}

// RedisCluster names nodes of a Redis Cluster; the client learns the
// others from them.
type RedisCluster struct {
	Addrs    []string `yaml:"addrs"`
	Username string   `yaml:"username"`
	Password string   `yaml:"password" redact:"true"`
	TLS      bool     `yaml:"tls"`
}

// Limits bound the hosted realtime layer, per process.
type Limits struct {
	MaxConnections        int `yaml:"max_connections"`
	MaxMessageBytes       int `yaml:"max_message_bytes"`
	ClientEventsPerSecond int `yaml:"client_events_per_second"`
	PresenceMembers       int `yaml:"presence_members"`
	ChannelsPerConnection int `yaml:"channels_per_connection"`
	FramesPerSecond       int `yaml:"frames_per_second"`
	FrameBurst            int `yaml:"frame_burst"`
	// ConnectionsPerIP caps one client address's sockets; 0 is no cap.
	ConnectionsPerIP int `yaml:"connections_per_ip"`
	// AnonymousPresencePerIP caps one address's anonymous members of one
	// presence channel.
	AnonymousPresencePerIP int `yaml:"anonymous_presence_per_ip"`
}

// On reports whether an optional switch is set, defaulting to false.
func On(b *bool) bool { return b != nil && *b }
