package pusher

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"gatehouse/pusherproto"
)

// App is one hosted Pusher app.
type App struct {
	// ID names the app in the HTTP API (/apps/{id}).
	ID string
	// Key is public; clients connect to /app/{key}.
	Key string
	// Secret signs channel authorizations, API requests and webhooks.
	Secret string
	// ClientEvents allows client-* events on private and presence channels.
	ClientEvents bool
	// EncryptionMasterKey (32 bytes) enables private-encrypted- channels.
	EncryptionMasterKey []byte
	// ClientSourceAddress limits who may open sockets: up to 10 CIDRs or
	// IPs, "!" excludes; empty allows everyone.
	ClientSourceAddress []string
	// AdminSourceAddress limits who may call the HTTP API, same syntax.
	AdminSourceAddress []string
	// Webhooks receive channel and member events.
	Webhooks []Webhook
}

// Webhook is an endpoint of the app and the events it wants
// (channel_occupied, channel_vacated, member_added, member_removed,
// client_event).
type Webhook struct {
	URL    string
	Events []string
}

// Config configures a Server.
type Config struct {
	// Apps are the hosted apps; at least one.
	Apps []App
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
}

var validWebhookEvents = map[string]bool{
	"channel_occupied": true, "channel_vacated": true, "member_added": true,
	"member_removed": true, "client_event": true,
}

func (cfg *Config) validate() error {
	if len(cfg.Apps) == 0 {
		return errors.New("pusher: no apps")
	}
	ids, keys := map[string]bool{}, map[string]bool{}
	for i, a := range cfg.Apps {
		switch {
		case a.ID == "" || a.Key == "" || a.Secret == "":
			return fmt.Errorf("pusher: apps[%d]: id, key and secret are required", i)
		case ids[a.ID]:
			return fmt.Errorf("pusher: apps[%d]: duplicate id %q", i, a.ID)
		case keys[a.Key]:
			return fmt.Errorf("pusher: apps[%d]: duplicate key", i)
		case len(a.EncryptionMasterKey) != 0 && len(a.EncryptionMasterKey) != 32:
			return fmt.Errorf("pusher: apps[%d]: encryption_master_key must be 32 bytes", i)
		}
		ids[a.ID], keys[a.Key] = true, true
		for _, w := range a.Webhooks {
			for _, e := range w.Events {
				if !validWebhookEvents[e] {
					return fmt.Errorf("pusher: apps[%d]: unknown webhook event %q", i, e)
				}
			}
		}
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

// app is an App ready for use.
type app struct {
	App
	clientRules rules
	adminRules  rules
}

func isPresence(ch string) bool { return pusherproto.TypeOf(ch) == pusherproto.Presence }

// validChannel checks a channel name as Pusher does; a server-to-user
// channel may carry any user id (subjects such as "auth0|42").
func validChannel(ch string) bool {
	return pusherproto.ValidChannelName(ch) || pusherproto.ValidServerToUserChannel(ch)
}
