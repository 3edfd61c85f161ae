package apps

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"gatehouse/pusherproto"
)

// App is one hosted app.
type App struct {
	// ID names the app: /apps/{id} on the topic and HTTP APIs, ?app=ID on
	// the Pusher auth endpoints.
	ID string
	// Key is public; Pusher clients connect to /app/{key}.
	Key string
	// Secret signs channel authorizations, API requests and webhooks.
	// Key and Secret are given together or not at all: an app without
	// them has no Pusher side (no Pusher sockets, Pusher HTTP API, Pusher
	// auth or webhooks) and serves the JWT-topic protocol only.
	Secret string
	// ClientEvents allows client-* events on private and presence channels.
	ClientEvents bool
	// EncryptionMasterKey (32 bytes, decoded) enables private-encrypted-
	// channels; nil refuses them.
	EncryptionMasterKey []byte
	// ClientSourceAddress limits who may open sockets: up to 10 CIDRs or
	// IPs, "!" excludes; empty allows everyone.
	ClientSourceAddress []string
	// AdminSourceAddress limits who may call the HTTP API, same syntax.
	AdminSourceAddress []string
	// Webhooks receive channel and member events.
	Webhooks []Webhook
	// InboundTopic, when set, is the topic the JWT-topic clients' send()
	// messages go to, for backends subscribed to it ("" turns send() off).
	InboundTopic string
	// History lists which channels keep their recent events, first match
	// wins.
	History []HistoryRule

	clientRules, adminRules rules
}

// Webhook is an endpoint of the app and the events it wants
// (pusherproto.WebhookEvents).
type Webhook struct {
	URL    string
	Events []string
}

// ClientAllowed reports whether a socket from ip may connect
// (ClientSourceAddress). Only apps of a Set answer.
func (a *App) ClientAllowed(ip string) bool { return a.clientRules.allows(ip) }

// AdminAllowed reports whether an HTTP API call from ip may proceed
// (AdminSourceAddress). Only apps of a Set answer.
func (a *App) AdminAllowed(ip string) bool { return a.adminRules.allows(ip) }

// Set is the validated apps, read-only and safe for concurrent use.
type Set struct {
	list  []*App
	byID  map[string]*App
	byKey map[string]*App
}

// New validates the apps and returns them as a Set: every app needs an id,
// and a key and secret together or neither (then no webhooks), ids and
// keys are unique, an encryption master key is 32
// bytes, source addresses parse, webhooks are http(s) URLs with known
// events. No apps is an empty Set.
func New(list ...App) (*Set, error) {
	s := &Set{byID: map[string]*App{}, byKey: map[string]*App{}}
	for i := range list {
		a := list[i] // a copy: the Set owns its apps
		switch {
		case a.ID == "":
			return nil, fmt.Errorf("apps[%d]: id is required", i)
		case (a.Key == "") != (a.Secret == ""):
			return nil, fmt.Errorf("apps[%d]: key and secret go together (or neither, for an app without Pusher clients)", i)
		case a.Key == "" && len(a.Webhooks) > 0:
			return nil, fmt.Errorf("apps[%d]: webhooks are signed with the secret: give key and secret", i)
		case s.byID[a.ID] != nil:
			return nil, fmt.Errorf("apps[%d]: duplicate id %q", i, a.ID)
		case a.Key != "" && s.byKey[a.Key] != nil:
			return nil, fmt.Errorf("apps[%d]: duplicate key", i)
		case len(a.EncryptionMasterKey) != 0 && len(a.EncryptionMasterKey) != 32:
			return nil, fmt.Errorf("apps[%d]: encryption_master_key must be 32 bytes", i)
		}
		var err error
		if a.clientRules, err = parseRules(a.ClientSourceAddress); err != nil {
			return nil, fmt.Errorf("apps[%d].client_source_address: %w", i, err)
		}
		if a.adminRules, err = parseRules(a.AdminSourceAddress); err != nil {
			return nil, fmt.Errorf("apps[%d].admin_source_address: %w", i, err)
		}
		for j, w := range a.Webhooks {
			if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("apps[%d].webhooks[%d]: %q is not an http(s) URL", i, j, w.URL)
			}
			for _, e := range w.Events {
				if !pusherproto.ValidWebhookEvent(e) {
					return nil, fmt.Errorf("apps[%d].webhooks[%d]: unknown webhook event %q", i, j, e)
				}
			}
		}
		s.list = append(s.list, &a)
		s.byID[a.ID] = &a
		if a.Key != "" {
			s.byKey[a.Key] = &a
		}
	}
	return s, nil
}

// ErrNoApps is returned by servers that host apps when the Set is empty.
var ErrNoApps = errors.New("apps: no apps")

// Len returns the number of apps.
func (s *Set) Len() int { return len(s.list) }

// All returns the apps in configuration order. Callers must not modify
// them.
func (s *Set) All() []*App { return s.list }

// ByID returns the app with that id, or nil.
func (s *Set) ByID(id string) *App { return s.byID[id] }

// ByKey returns the app with that key, or nil (always for "").
func (s *Set) ByKey(key string) *App { return s.byKey[key] }

// Pusher reports whether the app has Pusher credentials (a key and secret).
func (a *App) Pusher() bool { return a.Key != "" && a.Secret != "" }

// HistoryRule keeps the last Limit events (none older than TTL when set)
// of the channels any of Channels (policy globs) matches.
type HistoryRule struct {
	Channels []string
	Limit    int
	TTL      time.Duration
}
