package pusher

import (
	"fmt"
	"net/http"
	"time"

	"gatehouse/apps"
	"gatehouse/pusherproto"
)

// Config configures a Server.
type Config struct {
	// Apps are the hosted apps (decoded and validated by apps.New); at
	// least one.
	Apps *apps.Set
	// ActivityTimeout is announced to clients and drives the server's own
	// ping [120s].
	ActivityTimeout time.Duration
	// PongTimeout is how long a pinged client has to answer before it is
	// closed with 4201 [30s].
	PongTimeout time.Duration
	// DisableCompression turns permessage-deflate off.
	DisableCompression bool
	// SendQueue is how many frames may wait for a slow socket before it is
	// closed with 4200 [256].
	SendQueue int
	// WebhookClient sends webhooks [a client with a 5s timeout].
	WebhookClient *http.Client
	// WebhookBatchWindow is how long events are gathered into one webhook
	// request [250ms].
	WebhookBatchWindow time.Duration
	// WebhookRetries is how many times a failed webhook is retried [3].
	WebhookRetries int
	// WebhookBackoff is the first retry delay, doubled each time [500ms].
	WebhookBackoff time.Duration
	// WebhookQueue bounds the events waiting to be sent [10000]; more are
	// dropped and logged.
	WebhookQueue int
	// Now is the clock [time.Now].
	Now func() time.Time
	// PublicSubscribe decides whether a socket may subscribe to a public
	// channel (no private-, presence- or # prefix), which Pusher clients
	// join without any authorization. Topics and Pusher channels are one
	// namespace, so the policy's answer for an anonymous caller decides:
	// a name the policy restricts is not readable over Pusher without a
	// credential. Required.
	PublicSubscribe func(channel string) bool
}

func (cfg *Config) validate() error {
	if cfg.Apps == nil || cfg.Apps.Len() == 0 {
		return fmt.Errorf("pusher: %w", apps.ErrNoApps)
	}
	if cfg.PublicSubscribe == nil {
		return fmt.Errorf("pusher: PublicSubscribe is required (who may read public channels)")
	}
	if cfg.ActivityTimeout <= 0 {
		cfg.ActivityTimeout = 120 * time.Second
	}
	if cfg.PongTimeout <= 0 {
		cfg.PongTimeout = 30 * time.Second
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = 256
	}
	if cfg.WebhookClient == nil {
		cfg.WebhookClient = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.WebhookBatchWindow <= 0 {
		cfg.WebhookBatchWindow = 250 * time.Millisecond
	}
	if cfg.WebhookRetries < 0 {
		cfg.WebhookRetries = 0
	} else if cfg.WebhookRetries == 0 {
		cfg.WebhookRetries = 3
	}
	if cfg.WebhookBackoff <= 0 {
		cfg.WebhookBackoff = 500 * time.Millisecond
	}
	if cfg.WebhookQueue <= 0 {
		cfg.WebhookQueue = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

func isPresence(ch string) bool { return pusherproto.TypeOf(ch) == pusherproto.Presence }

// validChannel checks a channel name as Pusher does; a server-to-user
// channel may carry any user id (subjects such as "auth0|42").
func validChannel(ch string) bool {
	return pusherproto.ValidChannelName(ch) || pusherproto.ValidServerToUserChannel(ch)
}
