package issuer

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gatehouse/keys"
	"gatehouse/policy"
	"gatehouse/pusherproto"
)

// AblyConfig holds the Ably API key the ably profile signs with.
type AblyConfig struct {
	// KeyName is the public part of the Ably API key, "appId.keyId"; it is the
	// JWT kid.
	KeyName string
	// KeySecret is the API key's secret, the HS256 key.
	KeySecret string
}

// ablyClaims are the claims of an Ably JWT (ably.com/docs/auth/token/jwt):
// the capability is a JSON object serialised into a string.
type ablyClaims struct {
	Capability string `json:"x-ably-capability"`
	ClientID   string `json:"x-ably-clientId,omitempty"`
	IssuedAt   int64  `json:"iat"`
	ExpiresAt  int64  `json:"exp"`
}

// ablyProfile returns the ably profile signing with cfg's key.
func ablyProfile(cfg AblyConfig) (Profile, error) {
	if !strings.Contains(cfg.KeyName, ".") {
		return nil, fmt.Errorf("issuer: ably key name %q must look like appId.keyId", cfg.KeyName)
	}
	k, err := keys.New(cfg.KeyName, keys.HS256, []byte(cfg.KeySecret))
	if err != nil {
		return nil, fmt.Errorf("issuer: ably key: %w", err)
	}
	return func(i *Issuer, req Request) (Token, error) {
		if req.Alg != "" && req.Alg != keys.HS256 {
			return Token{}, fmt.Errorf("%w %q for ably (HS256 only)", ErrUnsupportedAlg, req.Alg)
		}
		ttl, err := i.Lifetime(req)
		if err != nil {
			return Token{}, err
		}
		now := i.cfg.Now().Truncate(time.Second)
		exp := now.Add(ttl)
		c := &ablyClaims{
			Capability: AblyCapability(req.Grants),
			ClientID:   req.Identity.Subject,
			IssuedAt:   now.Unix(),
			ExpiresAt:  exp.Unix(),
		}
		return signProfileKID(k, cfg.KeyName, c, now, exp)
	}, nil
}

// AblyCapability turns grants into an Ably capability JSON string: each
// pattern Ably can express becomes a resource, subscribe grants give
// "subscribe" (plus "presence" on resources that can name a presence
// channel), publish grants give "publish".
//
// Ably resource names know only two wildcards: "*" alone (every channel) and
// a trailing "*" after a ":" namespace separator ("chat:*"). A pattern with
// a star anywhere else ("public-*") has no Ably equivalent and is left out:
// a capability may be narrower than the policy's grants, never wider. An
// identity with nothing expressible gets "{}", which allows nothing.
func AblyCapability(g policy.Grants) string {
	ops := map[string][]string{}
	add := func(res, op string) {
		if !slices.Contains(ops[res], op) {
			ops[res] = append(ops[res], op)
		}
	}
	for _, p := range g.Subscribe {
		if res, ok := ablyResource(p); ok {
			add(res, "subscribe")
			if res == "*" || strings.HasPrefix(res, pusherproto.PrefixPresence) || strings.HasPrefix(res, "presence:") {
				add(res, "presence")
			}
		}
	}
	for _, p := range g.Publish {
		if res, ok := ablyResource(p); ok {
			add(res, "publish")
		}
	}
	for _, v := range ops {
		slices.Sort(v)
	}
	b, _ := json.Marshal(ops) // map of strings to strings: cannot fail; keys come out sorted
	return string(b)
}

// ablyResource maps a policy pattern onto an Ably resource name with the
// same meaning, when there is one.
func ablyResource(p string) (string, bool) {
	star := strings.IndexByte(p, '*')
	switch {
	case p == "":
		return "", false
	case star < 0:
		return p, true
	case p == "*":
		return p, true
	case star == len(p)-1 && len(p) > 2 && p[len(p)-2] == ':':
		return p, true
	}
	return "", false
}
