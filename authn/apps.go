package authn

import (
	"context"
	"fmt"
)

// Fronts that trusted issuers can be enabled on (config `issuers[].fronts`).
const (
	FrontTopics     = "topics"
	FrontDeepstream = "deepstream"
	FrontPusher     = "pusher"
	FrontExchange   = "exchange"
	FrontCentrifugo = "centrifugo"
	FrontNATS       = "nats"
	// FrontForwardAuth is /auth/verify and /webhooks/nchan.
	FrontForwardAuth = "forward_auth"
	FrontRabbitMQ    = "rabbitmq"
)

// KeyUse says what an app's token is presented for.
type KeyUse int

// Key uses of an app: its WebSocket clients (auth_key) and its publish API
// (admin_key).
const (
	AuthKey KeyUse = iota
	AdminKey
)

// AppKeys are the token keys of one hosted app (the 21no.de authKey and
// adminKey).
type AppKeys struct {
	// Auth verifies the tokens of the app's socket clients; nil for none.
	Auth *External
	// Admin verifies the tokens of the app's publish API; nil for none.
	Admin *External
	// NoOwnTokens refuses Gatehouse's own tokens for this app (only its
	// keys, and issuers enabled on the topics front, apply).
	NoOwnTokens bool
}

// Configure sets the trusted issuers per front and the apps' keys. It is
// called once, while wiring, before the resolver serves.
func (r *Resolver) Configure(byFront map[string][]*External, apps map[string]AppKeys) {
	r.external, r.apps = byFront, apps
}

// For returns a view of r for one front: Token and Request then also
// accept the trusted issuers enabled on it.
func (r *Resolver) For(front string) *Resolver {
	c := *r
	c.front = front
	return &c
}

// AppToken verifies a token presented to hosted app appID for use: one of
// our tokens (unless the app refuses them), the app's own key for that use,
// or a trusted issuer enabled on the topics front.
func (r *Resolver) AppToken(ctx context.Context, appID string, use KeyUse, token string) (Caller, error) {
	keys := r.apps[appID]
	iss := peekIssuer(token)
	if iss == r.issuer.Issuer() {
		if keys.NoOwnTokens {
			return Caller{}, fmt.Errorf("%w: app %s does not accept Gatehouse tokens", ErrBadCredential, appID)
		}
		return r.own(token)
	}
	var list []*External
	if use == AuthKey && keys.Auth != nil {
		list = append(list, keys.Auth)
	}
	if use == AdminKey && keys.Admin != nil {
		list = append(list, keys.Admin)
	}
	list = append(list, r.external[FrontTopics]...)
	if len(list) == 0 {
		if keys.NoOwnTokens {
			return Caller{}, fmt.Errorf("%w: app %s has no key for this use", ErrBadCredential, appID)
		}
		return r.own(token)
	}
	return verifyExternal(ctx, list, r.policy, token, iss)
}

// Ready is nil once every trusted issuer's keys have loaded; otherwise it
// names the first one that has not.
func (r *Resolver) Ready() error {
	seen := map[*External]bool{}
	var all []*External
	add := func(e *External) {
		if e != nil && !seen[e] {
			seen[e] = true
			all = append(all, e)
		}
	}
	for _, list := range r.external {
		for _, e := range list {
			add(e)
		}
	}
	for _, k := range r.apps {
		add(k.Auth)
		add(k.Admin)
	}
	return readyExternal(all)
}
