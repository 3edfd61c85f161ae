package issuer

import (
	"fmt"
	"time"

	"gatehouse/policy"
)

// DefaultProfile is the name of the realtime token shape of the README's "Tokens".
const DefaultProfile = "default"

// Request asks for a token.
type Request struct {
	// Identity is who the token is for.
	Identity policy.Identity
	// Grants are the policy's decision for Identity (already narrowed by any
	// requested scope).
	Grants policy.Grants
	// TTL is the lifetime; 0 means the issuer's default.
	TTL time.Duration
	// Alg picks the first key of that algorithm; "" means the active key.
	Alg string
	// Params carries profile-specific parameters (e.g. "channel").
	Params map[string]string
	// AllowLongTTL lifts the MaxTTL bound to MaxOfflineTTL (operator minting).
	AllowLongTTL bool
	// End is the absolute end of the credential the token is bought with
	// (the login session's end, the subject token's own end): the token
	// never lasts beyond it, and carries it on (the end claim) so that no
	// chain of exchanges can. Zero: the token's own exp is its end.
	End time.Time
}

// Token is a minted token and what the HTTP layer needs to answer with it.
type Token struct {
	// Value is the compact JWT.
	Value string
	// Alg is the algorithm it was signed with (its alg header).
	Alg string
	// ExpiresAt is the token's exp.
	ExpiresAt time.Time
	// IssuedAt is the token's iat.
	IssuedAt time.Time
	// Scope is the space-separated permissions the token carries, if any.
	Scope string
	// Claims are the claims written, for display and tests.
	Claims any
}

// Profile mints one token shape.
type Profile func(i *Issuer, req Request) (Token, error)

// Register adds or replaces a profile. It is meant for wiring, before serving.
func (i *Issuer) Register(name string, p Profile) {
	i.mu.Lock()
	i.profiles[name] = p
	i.mu.Unlock()
}

// HasProfile reports whether a profile of that name is registered.
func (i *Issuer) HasProfile(name string) bool {
	i.mu.RLock()
	_, ok := i.profiles[name]
	i.mu.RUnlock()
	return ok
}

// Mint mints a token of the named profile ("" means DefaultProfile).
func (i *Issuer) Mint(profile string, req Request) (Token, error) {
	if profile == "" {
		profile = DefaultProfile
	}
	i.mu.RLock()
	p, ok := i.profiles[profile]
	i.mu.RUnlock()
	if !ok {
		return Token{}, fmt.Errorf("%w %q", ErrUnknownProfile, profile)
	}
	return p(i, req)
}

// Lifetime resolves the lifetime of req against the issuer's bounds.
func (i *Issuer) Lifetime(req Request) (time.Duration, error) {
	ttl := req.TTL
	if ttl == 0 {
		ttl = i.cfg.TTL
	}
	limit := MaxTTL
	if req.AllowLongTTL {
		limit = MaxOfflineTTL
	}
	if ttl < 0 || ttl > limit {
		return 0, fmt.Errorf("issuer: ttl %s out of range (0, %s]", ttl, limit)
	}
	if !req.End.IsZero() {
		left := req.End.Sub(i.cfg.Now().Truncate(time.Second)).Truncate(time.Second)
		if left < time.Second {
			return 0, ErrCredentialEnded
		}
		ttl = min(ttl, left)
	}
	return ttl, nil
}

func mintDefault(i *Issuer, req Request) (Token, error) {
	k := i.keys.Active()
	if req.Alg != "" {
		if k = i.keys.ForAlg(req.Alg); k == nil {
			return Token{}, fmt.Errorf("%w %q", ErrUnsupportedAlg, req.Alg)
		}
	}
	ttl, err := i.Lifetime(req)
	if err != nil {
		return Token{}, err
	}
	now := i.cfg.Now().Truncate(time.Second)
	exp := now.Add(ttl)
	end := exp
	if !req.End.IsZero() {
		end = req.End.Truncate(time.Second)
	}
	id := req.Identity.Normalize()
	perms := req.Grants.Permissions()
	if perms == nil {
		perms = []string{}
	}
	c := &mintClaims{
		Issuer:      i.cfg.Issuer,
		Subject:     id.Subject,
		Audience:    i.cfg.Audience,
		IssuedAt:    now.Unix(),
		NotBefore:   now.Unix(),
		ExpiresAt:   exp.Unix(),
		ID:          newJTI(),
		SessionID:   id.SessionID,
		End:         end.Unix(),
		Name:        id.Name,
		Email:       id.Email,
		Provider:    id.Provider,
		Anonymous:   id.Anonymous,
		Roles:       id.Roles,
		Groups:      id.Groups,
		Permissions: perms,
	}
	v, err := Sign(k, TokenType, "", c)
	if err != nil {
		return Token{}, err
	}
	return Token{Value: v, Alg: k.Alg, ExpiresAt: exp, IssuedAt: now, Scope: joinSpace(perms), Claims: c}, nil
}

func joinSpace(s []string) string {
	n := 0
	for _, p := range s {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for j, p := range s {
		if j > 0 {
			b = append(b, ' ')
		}
		b = append(b, p...)
	}
	return string(b)
}
