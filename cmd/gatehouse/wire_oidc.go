package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gatehouse/authn"
	"gatehouse/config"
	"gatehouse/handlers"
	"gatehouse/internal/httpx"
	"gatehouse/oidc"
	"gatehouse/oidc/devidp"
)

// devProviderName is the provider the development identity provider
// appears as.
const devProviderName = "dev"

// wireOIDC adds the relying party (login, logout, sessions), the pages, the
// development identity provider when it is on, and POST /token. It returns
// what reads session cookies, nil when no login is configured.
func wireOIDC(ctx context.Context, e env, c *core, p *parts) (authn.SessionReader, error) {
	cfg := e.cfg
	var providers []oidc.ProviderConfig
	for _, p := range cfg.OIDC.Providers {
		providers = append(providers, oidc.ProviderConfig{
			Name: p.Name, Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
			Scopes: p.Scopes, Audience: p.Audience, RolesClaim: p.RolesClaim, GroupsClaim: p.GroupsClaim,
			InsecureAllowHTTP: p.InsecureAllowHTTP,
		})
	}
	if config.On(cfg.DevIDP.Enabled) && !slices.ContainsFunc(providers, func(p oidc.ProviderConfig) bool { return p.Name == devProviderName }) {
		dev, err := wireDevIDP(e, p)
		if err != nil {
			return nil, err
		}
		providers = append(providers, dev)
	}
	var rp *oidc.RP
	var sessions authn.SessionReader
	if len(providers) > 0 {
		keys, err := sessionKeys(e)
		if err != nil {
			return nil, err
		}
		// Several nodes on one Redis share the sessions' server-side parts
		// and the back-channel index; one node keeps them in memory.
		var store oidc.SpillStore
		var index oidc.SessionIndex
		if usesRedis(cfg) {
			rs, err := newRedisSessionStore(ctx, cfg.Realtime.Redis, p)
			if err != nil {
				return nil, err
			}
			store, index = rs, rs
		}
		s := cfg.OIDC.Session
		rp, err = oidc.New(oidc.Config{
			PublicURL: cfg.Server.PublicURL, Providers: providers, RedirectAllowlist: cfg.OIDC.RedirectAllowlist,
			Session: oidc.SessionConfig{
				CookieName: s.CookieName, HashKeys: keys[0], BlockKeys: keys[1],
				MaxAge: s.MaxAge, IdleTimeout: s.IdleTimeout, Store: store,
			},
			KeepClaims: c.policy.ClaimPaths(),
			Now:        c.issuer.Now,
			Index:      index,
		}, c.revocations, e.log)
		if err != nil {
			return nil, err
		}
		rp.Start(ctx)
		sessions = rp.Sessions()
		for _, pc := range providers {
			name := pc.Name
			p.ready = append(p.ready, handlers.ReadyCheck{Name: "oidc:" + name, Check: func(context.Context) error { return rp.Ready(name) }})
		}
		auth, err := handlers.NewAuth(handlers.AuthConfig{Revocations: c.revocations}, rp, e.log)
		if err != nil {
			return nil, err
		}
		p.routes = append(p.routes, auth, handlers.NewPages(rp, e.log))
	}
	var subjects handlers.SubjectVerifier
	if rp != nil {
		subjects = rp
	}
	origin, ok := httpx.Origin(cfg.Server.PublicURL)
	if !ok {
		return nil, fmt.Errorf("server.public_url %q is not an absolute http(s) URL", cfg.Server.PublicURL)
	}
	tok, err := handlers.NewToken(handlers.TokenConfig{Origin: origin}, sessions, subjects, c.issuer, c.policy, c.metrics, e.log)
	if err != nil {
		return nil, err
	}
	if len(c.trust.byFront[authn.FrontExchange]) > 0 {
		res, err := c.trust.resolver(c, nil, cfg.Tokens.Anonymous.TTL)
		if err != nil {
			return nil, err
		}
		tok.TrustExternal(res.For(authn.FrontExchange))
	}
	p.routes = append(p.routes, tok)
	return sessions, nil
}

// wireDevIDP mounts the development identity provider and returns the
// provider entry that reaches it over HTTP like any other.
func wireDevIDP(e env, p *parts) (oidc.ProviderConfig, error) {
	pub := strings.TrimSuffix(e.cfg.Server.PublicURL, "/")
	issuer := pub + "/dev-idp"
	secret := randomSecret()
	idp, err := devidp.New(devidp.Config{
		Issuer:  issuer,
		Clients: []devidp.Client{{ID: "gatehouse-dev", Secret: secret, RedirectURIs: []string{pub + oidc.CallbackPath}}},
		Roles:   []string{"admin", "member"},
		// A login may end on an allowed return_to of another origin.
		FormActions: e.cfg.OIDC.RedirectAllowlist,
	}, e.log)
	if err != nil {
		return oidc.ProviderConfig{}, err
	}
	p.routes = append(p.routes, &handlers.DevIDP{Base: idp.Base(), Handler: idp})
	e.log.Warn("the development identity provider is on: anyone can log in as anyone with any role; NOT FOR PRODUCTION", "issuer", issuer)
	if e.mode != modeDev {
		fmt.Fprintf(os.Stderr, "Gatehouse: the development identity provider is on at %s: anyone can log in as anyone. NOT FOR PRODUCTION\n", issuer)
	}
	p.banner = append(p.banner, fmt.Sprintf("dev idp     %s (any name, pick roles; NOT FOR PRODUCTION)", issuer))
	p.banner = append(p.banner, fmt.Sprintf("login       %s/login", pub))
	return oidc.ProviderConfig{
		Name: devProviderName, Issuer: issuer, ClientID: "gatehouse-dev", ClientSecret: secret,
		Scopes: []string{"openid", "profile", "email"}, RolesClaim: "roles", GroupsClaim: "groups",
		InsecureAllowHTTP: strings.HasPrefix(issuer, "http://"),
	}, nil
}

// sessionKeys decodes oidc.session hash and block keys; without any, it
// keeps generated ones under the data dir (dev), or uses keys that last only
// as long as the process (a warning says so).
func sessionKeys(e env) ([2][][]byte, error) {
	var out [2][][]byte
	s := e.cfg.OIDC.Session
	for i, list := range [][]string{s.HashKeys, s.BlockKeys} {
		for _, k := range list {
			b, err := config.DecodeKey(k)
			if err != nil {
				return out, fmt.Errorf("oidc.session: %w", err)
			}
			out[i] = append(out[i], b)
		}
	}
	if len(out[0]) > 0 && len(out[1]) > 0 {
		return out, nil
	}
	if e.dataDir == "" {
		if e.mode != modeDev && len(e.cfg.OIDC.Providers) > 0 {
			return out, errors.New("oidc.session.hash_keys: required when providers are configured")
		}
		e.log.Warn("session keys generated for this process only: sessions end at restart (set oidc.session keys or --data-dir)")
		k := oidc.SessionKeys{Hash: make([]byte, 64), Block: make([]byte, 32)}
		_, _ = rand.Read(k.Hash)
		_, _ = rand.Read(k.Block)
		return [2][][]byte{{k.Hash}, {k.Block}}, nil
	}
	k, err := oidc.LoadOrCreateSessionKeys(filepath.Join(e.dataDir, "session-keys.json"))
	if err != nil {
		return out, err
	}
	return [2][][]byte{{k.Hash}, {k.Block}}, nil
}

func randomSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
