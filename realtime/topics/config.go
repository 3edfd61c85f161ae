package topics

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gatehouse/apps"
	"gatehouse/authn"
)

// Defaults of Config.
const (
	DefaultPingInterval = 30 * time.Second
	DefaultSendQueue    = 256
)

// TokenVerifier checks an access token presented to an app, for its socket
// clients (authn.AuthKey) or its publish API (authn.AdminKey): one of our
// tokens, the app's own key, or a trusted issuer's. It must refuse expired
// tokens and tokens of revoked sessions. *authn.Resolver satisfies it.
type TokenVerifier interface {
	AppToken(ctx context.Context, appID string, use authn.KeyUse, token string) (authn.Caller, error)
}

var _ TokenVerifier = (*authn.Resolver)(nil)

// Timer is a pending call of Clock.AfterFunc. *time.Timer satisfies it.
type Timer interface {
	// Stop prevents the call if it has not run yet, reporting whether it
	// stopped it.
	Stop() bool
}

// Clock is the time source that decides token expiry. The zero Config uses
// the system clock; tests inject one they can advance.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Config configures a Server.
type Config struct {
	// Apps are the hosted apps (apps.New); topic clients connect to
	// /apps/{id}. They are the Pusher apps too, so topics and Pusher
	// channels of one app meet. At least one.
	Apps *apps.Set
	// PublishesPerSecond bounds the publish frames one connection may send
	// per second [the hub's ClientEventsPerSecond].
	PublishesPerSecond int
	// PingInterval is how long a connection may stay silent before the
	// server sends a WebSocket ping; one still silent a further PingInterval
	// later is closed with CodePongTimeout [30s].
	PingInterval time.Duration
	// SendQueue is how many frames may wait for a slow socket before it is
	// closed with CodeTryAgain [256].
	SendQueue int
	// DisableCompression turns permessage-deflate off.
	DisableCompression bool
	// Clock decides token expiry [the system clock].
	Clock Clock
}

func (cfg *Config) validate() error {
	if cfg.Apps == nil || cfg.Apps.Len() == 0 {
		return fmt.Errorf("topics: %w", apps.ErrNoApps)
	}
	if cfg.PublishesPerSecond < 0 || cfg.PingInterval < 0 || cfg.SendQueue < 0 {
		return errors.New("topics: limits must not be negative")
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.SendQueue == 0 {
		cfg.SendQueue = DefaultSendQueue
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	return nil
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
