package main

import (
	"context"
	"fmt"
	"time"

	"gatehouse/authn"
	"gatehouse/authn/trust"
	"gatehouse/config"
	"gatehouse/handlers"
)

// trusted are the trusted issuers (issuers[]) and the hosted apps' own
// keys, built once and shared by every resolver.
type trusted struct {
	byFront map[string][]*authn.External
	apps    map[string]authn.AppKeys
}

// resolver builds a resolver that knows the trusted issuers.
func (t *trusted) resolver(c *core, sessions authn.SessionReader, anonTTL time.Duration) (*authn.Resolver, error) {
	res, err := authn.NewResolver(c.issuer, c.policy, sessions, anonTTL)
	if err != nil {
		return nil, err
	}
	res.Configure(t.byFront, t.apps)
	return res, nil
}

// wireTrust builds the verifiers of issuers[] and apps[].auth_key/admin_key,
// starts loading their remote keys (each gets a /readyz check naming it),
// and logs the configuration's warnings.
func wireTrust(ctx context.Context, e env, p *parts) (*trusted, error) {
	cfg := e.cfg
	for _, w := range cfg.Warnings() {
		e.log.Warn("config: " + w)
	}
	t := &trusted{byFront: map[string][]*authn.External{}, apps: map[string]authn.AppKeys{}}
	named := map[string]*authn.External{}
	var all []*authn.External
	newVerifier := func(tc trust.Config) (*trust.Verifier, error) {
		return trust.New(tc, trust.Options{})
	}
	for _, ti := range cfg.Issuers {
		tc, err := ti.TrustConfig()
		if err != nil {
			return nil, fmt.Errorf("issuers %s: %w", ti.Name, err)
		}
		v, err := newVerifier(tc)
		if err != nil {
			return nil, err
		}
		ext := &authn.External{Verifier: v, PermissionsClaim: ti.PermissionsClaim, RolesClaim: ti.RolesClaim,
			GroupsClaim: ti.GroupsClaim, Grants: authn.GrantMode(ti.Grants)}
		named[ti.Name] = ext
		all = append(all, ext)
		for _, f := range ti.Fronts {
			t.byFront[f] = append(t.byFront[f], ext)
		}
	}
	for _, a := range cfg.Apps {
		var keys authn.AppKeys
		keys.NoOwnTokens = a.GatehouseTokens != nil && !*a.GatehouseTokens
		for _, k := range []struct {
			field string
			ref   *config.AppKey
			dst   **authn.External
		}{{"auth_key", a.AuthKey, &keys.Auth}, {"admin_key", a.AdminKey, &keys.Admin}} {
			if k.ref == nil {
				continue
			}
			if !k.ref.Inline() {
				// The app's grant mode applies to a shared issuer too.
				base := named[k.ref.Issuer[0]]
				ext := *base
				if a.Grants != "" {
					ext.Grants = authn.GrantMode(a.Grants)
				}
				*k.dst = &ext
				continue
			}
			v, err := newVerifier(k.ref.TrustConfig("apps." + a.ID + "." + k.field))
			if err != nil {
				return nil, err
			}
			ext := &authn.External{Verifier: v, PermissionsClaim: k.ref.PermissionsClaim, Grants: authn.GrantMode(a.Grants)}
			*k.dst = ext
			all = append(all, ext)
		}
		if keys != (authn.AppKeys{}) {
			t.apps[a.ID] = keys
		}
	}
	for _, ext := range all {
		v := ext.Verifier
		p.ready = append(p.ready, handlers.ReadyCheck{Name: "issuer:" + v.Name(), Check: func(context.Context) error { return v.Ready() }})
	}
	loadCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p.closers = append(p.closers, func(context.Context) error { stop(); return nil })
	authn.LoadExternal(loadCtx, all, func(name string, err error) {
		e.log.Warn("trusted issuer keys not loaded", "issuer", name, "err", err)
	})
	return t, nil
}
