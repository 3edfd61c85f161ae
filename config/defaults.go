package config

import "time"

// Mode selects mode-dependent defaults.
type Mode int

// Modes.
const (
	// Serve is production: nothing is on unless configured.
	Serve Mode = iota
	// Dev turns on anonymous tokens and the development identity provider.
	Dev
)

// DefaultAnonymousAlgorithms are the algorithms anonymous callers may ask
// for when tokens.anonymous.algorithms is not written and keys are generated
// under keys.dir (one key per algorithm).
var DefaultAnonymousAlgorithms = []string{"ES256", "EdDSA"}

// Default returns the configuration a file is decoded over.
func Default(mode Mode) Config {
	dev := mode == Dev
	c := Config{
		Server: Server{Addr: ":8080", ShutdownGrace: 20 * time.Second},
		Tokens: Tokens{
			Audience: "realtime",
			TTL:      5 * time.Minute,
			Anonymous: Anonymous{
				TTL:  5 * time.Minute,
				Rate: Rate{PerIP: 30, Per: time.Minute},
				// Algorithms are derived in Validate: those of keys.signing
				// when given, else DefaultAnonymousAlgorithms.
			},
		},
		OIDC: OIDC{Session: Session{MaxAge: 12 * time.Hour, IdleTimeout: time.Hour}},
		Realtime: Realtime{
			Backplane: "memory",
			Limits: Limits{
				MaxConnections:         100000,
				MaxMessageBytes:        10240,
				ClientEventsPerSecond:  10,
				PresenceMembers:        100,
				ChannelsPerConnection:  200,
				FramesPerSecond:        20,
				FrameBurst:             300,
				AnonymousPresencePerIP: 10,
			},
		},
		Policy: Policy{Anonymous: Grant{Subscribe: []string{"public-*"}}},
	}
	if dev {
		c.Server.Addr = "127.0.0.1:8080"
		t := true
		c.Tokens.Anonymous.Enabled = &t
		c.DevIDP.Enabled = &t
		c.Policy.Rules = []Rule{
			{When: When{Authenticated: &t},
				Subscribe: []string{"public-*", "private-*", "presence-*", "private-user-{sub}"},
				Publish:   []string{"private-*", "presence-*"}},
			{When: When{Role: StringList{"admin"}}, Subscribe: []string{"*"}, Publish: []string{"*"}},
		}
		c.Policy.Anonymous = Grant{Subscribe: []string{"public-*", "presence-lobby"}, Publish: []string{"presence-lobby"}}
	}
	return c
}
