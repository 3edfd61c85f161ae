package authn

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gatehouse/authn/trust"
	"gatehouse/policy"
)

// SourceExternal is a token of a trusted issuer.
const SourceExternal = "external"

// GrantMode says where the grants of an external token come from.
type GrantMode string

// Grant modes. GrantsBoth is the default: the token's own permissions, as
// far as the policy also grants them to that identity.
const (
	// GrantsToken takes the token's permissions claim as the grants (the
	// 21no.de model: the issuer decides).
	GrantsToken GrantMode = "token"
	// GrantsPolicy applies the policy to the identity the token proves
	// (roles and groups from the configured claims).
	GrantsPolicy GrantMode = "policy"
	// GrantsBoth is the intersection of the two.
	GrantsBoth GrantMode = "both"
)

// External is one trusted issuer as the fronts use it: its verifier and how
// its tokens map onto an identity and grants.
type External struct {
	Verifier *trust.Verifier
	// PermissionsClaim holds the 21no.de permission strings ("permissions"
	// when empty).
	PermissionsClaim string
	// RolesClaim and GroupsClaim are dotted claim paths for the policy
	// ("roles" and "groups" when empty).
	RolesClaim, GroupsClaim string
	// Grants is the grant mode (GrantsBoth when empty).
	Grants GrantMode
}

// caller maps a verified token onto a Caller.
func (e *External) caller(t trust.Token, pol *policy.Engine) Caller {
	view := policy.Identity{Claims: t.Claims}
	id := policy.Identity{
		Subject:  t.Subject,
		Provider: t.Issuer,
		Name:     policy.FirstString(t.Claims, "name", "preferred_username", "nickname", "email"),
		Roles:    view.ClaimStrings(cmp.Or(e.RolesClaim, "roles")),
		Groups:   view.ClaimStrings(cmp.Or(e.GroupsClaim, "groups")),
	}
	if v, ok := t.Claims["email_verified"].(bool); !ok || v {
		id.Email, _ = t.Claims["email"].(string)
	}
	for _, path := range pol.ClaimPaths() {
		if v, ok := view.Claim(path); ok {
			if id.Claims == nil {
				id.Claims = map[string]any{}
			}
			id.Claims[path] = v
		}
	}
	id = id.Normalize()
	var grants policy.Grants
	switch cmp.Or(string(e.Grants), string(GrantsBoth)) {
	case string(GrantsToken):
		grants = tokenPermissions(view, e.PermissionsClaim)
	case string(GrantsPolicy):
		grants = pol.Grants(id)
	default:
		grants = pol.Grants(id).Narrow(tokenPermissions(view, e.PermissionsClaim))
	}
	return Caller{Identity: id, Grants: grants, ExpiresAt: t.ExpiresAt, Source: SourceExternal}
}

// tokenPermissions parses the permission strings of the token; unknown
// forms are dropped (a token never gains access through a string it cannot
// parse).
func tokenPermissions(view policy.Identity, claim string) policy.Grants {
	g := policy.Grants{Subscribe: []string{}, Publish: []string{}}
	for _, p := range view.ClaimStrings(cmp.Or(claim, "permissions")) {
		if one, err := policy.ParsePermissions([]string{p}); err == nil {
			g.Subscribe = append(g.Subscribe, one.Subscribe...)
			g.Publish = append(g.Publish, one.Publish...)
		}
	}
	return g
}

// verifyExternal tries the trusted issuers in list: those naming the
// token's iss first; those trusting a key alone after them.
func verifyExternal(ctx context.Context, list []*External, pol *policy.Engine, raw, iss string) (Caller, error) {
	var tried int
	var last error
	for _, pinned := range []bool{true, false} {
		for _, e := range list {
			if e.Verifier.Pinned() != pinned || !e.Verifier.Accepts(iss) {
				continue
			}
			tried++
			t, err := e.Verifier.Verify(ctx, raw)
			if err == nil {
				return e.caller(t, pol), nil
			}
			last = err
		}
		if tried > 0 {
			break // an issuer that names the iss answers alone
		}
	}
	if last == nil {
		last = fmt.Errorf("no trusted issuer accepts iss %q", iss)
	}
	return Caller{}, fmt.Errorf("%w: %w", ErrBadCredential, last)
}

// peekIssuer reads the unverified iss of a compact JWT ("" when it has none
// or is not a JWT): only to choose which verifier to ask.
func peekIssuer(raw string) string {
	_, rest, ok := strings.Cut(raw, ".")
	payload, _, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || len(payload) > maxPeekBytes {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.Iss
}

// maxPeekBytes bounds the payload peekIssuer decodes (the fronts' bodies
// are limited anyway; this keeps a huge header from costing more).
const maxPeekBytes = 64 << 10

// Ready reports the first trusted issuer in list whose keys never loaded.
func readyExternal(list []*External) error {
	for _, e := range list {
		if err := e.Verifier.Ready(); err != nil {
			return fmt.Errorf("trusted issuer %s: %w", e.Verifier.Name(), err)
		}
	}
	return nil
}

// LoadExternal fetches the remote keys of every issuer in list until each
// has loaded once or ctx ends, retrying failures with backoff. Verification
// itself also fetches on demand; this makes /readyz meaningful at start.
func LoadExternal(ctx context.Context, list []*External, onErr func(name string, err error)) {
	for _, e := range list {
		go func() {
			wait := time.Second
			for {
				err := e.Verifier.Load(ctx)
				if err == nil {
					return
				}
				if onErr != nil {
					onErr(e.Verifier.Name(), err)
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
				wait = min(2*wait, time.Minute)
			}
		}()
	}
}

// External verifies token with the trusted issuers enabled on r's front.
// ok is false when none of them would take it (it names our issuer, or an
// iss no enabled issuer accepts), so another verifier may try.
func (r *Resolver) External(ctx context.Context, token string) (_ Caller, ok bool, _ error) {
	list := r.external[r.front]
	iss := peekIssuer(token)
	if len(list) == 0 || iss == r.issuer.Issuer() {
		return Caller{}, false, nil
	}
	for _, e := range list {
		if e.Verifier.Accepts(iss) {
			c, err := verifyExternal(ctx, list, r.policy, token, iss)
			return c, true, err
		}
	}
	return Caller{}, false, nil
}
