package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

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
// development identity provider when it is on, and POST /token.
func wireOIDC(ctx context.Context, a *app) error {
	cfg := a.cfg
	var providers []oidc.ProviderConfig
	for _, p := range cfg.OIDC.Providers {
		providers = append(providers, oidc.ProviderConfig{
			Name: p.Name, Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
			Scopes: p.Scopes, Audience: p.Audience, RolesClaim: p.RolesClaim, GroupsClaim: p.GroupsClaim,
			InsecureAllowHTTP: p.InsecureAllowHTTP,
		})
	}
	if config.On(cfg.DevIDP.Enabled) && !slices.ContainsFunc(providers, func(p oidc.ProviderConfig) bool { return p.Name == devProviderName }) {
		p, err := wireDevIDP(a)
		if err != nil {
			return err
		}
		providers = append(providers, p)
	}
	var rp *oidc.RP
	if len(providers) > 0 {
		keys, err := sessionKeys(a)
		if err != nil {
			return err
		}
		// Several nodes on one Redis share the sessions' server-side parts
		// and the back-channel index; one node keeps them in memory.
		var store oidc.SpillStore
		var index oidc.SessionIndex
		if usesRedis(cfg) {
			rs, err := newRedisSessionStore(ctx, a)
			if err != nil {
				return err
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
			KeepClaims: claimPaths(cfg.Policy),
			Now:        a.issuer.Now,
			Index:      index,
		}, a.revocations, a.log)
		if err != nil {
			return err
		}
		rp.Start(ctx)
		a.sessions = rp.Sessions()
		for _, p := range providers {
			name := p.Name
			a.ready = append(a.ready, handlers.ReadyCheck{Name: "oidc:" + name, Check: func(context.Context) error { return rp.Ready(name) }})
		}
		auth, err := handlers.NewAuth(handlers.AuthConfig{Revocations: a.revocations}, rp, a.log)
		if err != nil {
			return err
		}
		a.groups = append(a.groups, auth, handlers.NewPages(rp, a.log))
	}
	var subjects handlers.SubjectVerifier
	if rp != nil {
		subjects = rp
	}
	origin, ok := httpx.Origin(cfg.Server.PublicURL)
	if !ok {
		return fmt.Errorf("server.public_url %q is not an absolute http(s) URL", cfg.Server.PublicURL)
	}
	tok, err := handlers.NewToken(handlers.TokenConfig{Origin: origin}, a.sessions, subjects, a.issuer, a.policy, a.metrics, a.log)
	if err != nil {
		return err
	}
	a.groups = append(a.groups, tok)
	return nil
}

// wireDevIDP mounts the development identity provider and returns the
// provider entry that reaches it over HTTP like any other.
func wireDevIDP(a *app) (oidc.ProviderConfig, error) {
	pub := strings.TrimSuffix(a.cfg.Server.PublicURL, "/")
	issuer := pub + "/dev-idp"
	secret := randomSecret()
	idp, err := devidp.New(devidp.Config{
		Issuer:  issuer,
		Clients: []devidp.Client{{ID: "gatehouse-dev", Secret: secret, RedirectURIs: []string{pub + oidc.CallbackPath}}},
		Roles:   []string{"admin", "member"},
	}, a.log)
	if err != nil {
		return oidc.ProviderConfig{}, err
	}
	a.groups = append(a.groups, &handlers.DevIDP{Base: idp.Base(), Handler: idp})
	a.banner = append(a.banner, fmt.Sprintf("dev idp     %s (any name, pick roles; NOT FOR PRODUCTION)", issuer))
	a.banner = append(a.banner, fmt.Sprintf("login       %s/login", pub))
	return oidc.ProviderConfig{
		Name: devProviderName, Issuer: issuer, ClientID: "gatehouse-dev", ClientSecret: secret,
		Scopes: []string{"openid", "profile", "email"}, RolesClaim: "roles", GroupsClaim: "groups",
		InsecureAllowHTTP: strings.HasPrefix(issuer, "http://"),
	}, nil
}

// sessionKeys decodes oidc.session hash and block keys; without any, it
// keeps generated ones under the data dir (dev), or uses keys that last only
// as long as the process (a warning says so).
func sessionKeys(a *app) ([2][][]byte, error) {
	var out [2][][]byte
	s := a.cfg.OIDC.Session
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
	if a.dataDir == "" {
		if a.mode != modeDev && len(a.cfg.OIDC.Providers) > 0 {
			return out, errors.New("oidc.session.hash_keys: required when providers are configured")
		}
		a.log.Warn("session keys generated for this process only: sessions end at restart (set oidc.session keys or --data-dir)")
		k := oidc.SessionKeys{Hash: make([]byte, 64), Block: make([]byte, 32)}
		_, _ = rand.Read(k.Hash)
		_, _ = rand.Read(k.Block)
		return [2][][]byte{{k.Hash}, {k.Block}}, nil
	}
	k, err := oidc.LoadOrCreateSessionKeys(filepath.Join(a.dataDir, "session-keys.json"))
	if err != nil {
		return out, err
	}
	return [2][][]byte{{k.Hash}, {k.Block}}, nil
}

// claimTemplate finds `{claim.path}` in policy patterns.
var claimTemplate = regexp.MustCompile(`\{claim\.([^{}]+)\}`)

// claimPaths lists the claim paths the policy reads, so that sessions keep
// those claims and no others.
func claimPaths(p config.Policy) []string {
	var out []string
	add := func(path string) {
		if !slices.Contains(out, path) {
			out = append(out, path)
		}
	}
	scan := func(patterns []string) {
		for _, pat := range patterns {
			for _, m := range claimTemplate.FindAllStringSubmatch(pat, -1) {
				add(m[1])
			}
		}
	}
	scan(p.Anonymous.Subscribe)
	scan(p.Anonymous.Publish)
	for _, r := range p.Rules {
		for path := range r.When.Claim {
			add(path)
		}
		scan(r.Subscribe)
		scan(r.Publish)
	}
	slices.Sort(out)
	return out
}

func randomSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
