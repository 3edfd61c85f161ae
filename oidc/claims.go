package oidc

import (
	"cmp"
	"fmt"

	"gatehouse/policy"
)

// identityFromClaims maps verified claims onto an identity. Roles and groups
// come from the provider's configured claim paths; only the claims named in
// keep are carried along (policy `claim:` conditions and `{claim.path}`
// templates need them; the rest would only bloat the cookie).
func identityFromClaims(p ProviderConfig, claims map[string]any, keep []string) (policy.Identity, error) {
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return policy.Identity{}, fmt.Errorf("%w: no sub", ErrInvalidToken)
	}
	view := policy.Identity{Claims: claims}
	id := policy.Identity{
		Subject:  sub,
		Provider: p.Name,
		Name:     policy.FirstString(claims, "name", "preferred_username", "nickname", "email"),
		Roles:    stringsAt(view, cmp.Or(p.RolesClaim, "roles")),
		Groups:   stringsAt(view, cmp.Or(p.GroupsClaim, "groups")),
	}
	// An address the provider says is unverified is not the identity's:
	// email_domain conditions must not be satisfiable by typing one.
	if v, ok := claims["email_verified"].(bool); !ok || v {
		id.Email, _ = claims["email"].(string)
	}
	for _, path := range keep {
		if v, ok := view.Claim(path); ok {
			if id.Claims == nil {
				id.Claims = map[string]any{}
			}
			id.Claims[path] = v
		}
	}
	return id.Normalize(), nil
}

// stringsAt reads a claim that is a list of strings, or one string.
func stringsAt(id policy.Identity, path string) []string { return id.ClaimStrings(path) }
