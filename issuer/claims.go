package issuer

import (
	"errors"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/policy"
)

// Claims are the claims of a default-profile realtime token (README, "Tokens").
type Claims struct {
	Issuer      string           `json:"iss"`
	Subject     string           `json:"sub"`
	Audience    jwt.ClaimStrings `json:"aud"`
	IssuedAt    *NumericDate     `json:"iat"`
	NotBefore   *NumericDate     `json:"nbf,omitempty"`
	ExpiresAt   *NumericDate     `json:"exp"`
	ID          string           `json:"jti"`
	SessionID   string           `json:"sid,omitempty"`
	End         *NumericDate     `json:"end,omitempty"`
	Name        string           `json:"name,omitempty"`
	Email       string           `json:"email,omitempty"`
	Provider    string           `json:"provider,omitempty"`
	Anonymous   bool             `json:"anon"`
	Roles       []string         `json:"roles"`
	Groups      []string         `json:"groups"`
	Permissions []string         `json:"permissions"`
}

var _ jwt.Claims = (*Claims)(nil)

// NumericDate is a JWT date that must be written as a JSON number (RFC 7519
// §2): jwt.NumericDate also reads a numeric string, which would give one
// token several spellings.
type NumericDate struct{ jwt.NumericDate }

// UnmarshalJSON implements json.Unmarshaler, refusing anything but a number.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || !(b[0] == '-' || b[0] >= '0' && b[0] <= '9') {
		return errors.New("issuer: a date claim must be a JSON number")
	}
	return d.NumericDate.UnmarshalJSON(b)
}

func (d *NumericDate) jwt() *jwt.NumericDate {
	if d == nil {
		return nil
	}
	return &d.NumericDate
}

// GetExpirationTime implements jwt.Claims.
func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt.jwt(), nil }

// GetIssuedAt implements jwt.Claims.
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error) { return c.IssuedAt.jwt(), nil }

// GetNotBefore implements jwt.Claims.
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error) { return c.NotBefore.jwt(), nil }

// GetIssuer implements jwt.Claims.
func (c *Claims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c *Claims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c *Claims) GetAudience() (jwt.ClaimStrings, error) { return c.Audience, nil }

// Identity rebuilds the identity the token was minted for. Claims may be
// shared through the verified-token cache, so the slices are clipped: an
// append by the caller copies instead of writing into cached claims.
func (c *Claims) Identity() policy.Identity {
	return policy.Identity{
		Subject:   c.Subject,
		Name:      c.Name,
		Email:     c.Email,
		Provider:  c.Provider,
		Roles:     slices.Clip(c.Roles),
		Groups:    slices.Clip(c.Groups),
		Anonymous: c.Anonymous,
		SessionID: c.SessionID,
	}.Normalize()
}

// AbsoluteEnd is when the credential this token derives from ends: its
// end claim (the login session's end, or the first token's own end through
// every exchange), or its exp for tokens minted before the claim existed.
// No token exchanged for this one may outlive it.
func (c *Claims) AbsoluteEnd() time.Time {
	if c.End != nil {
		return c.End.Time
	}
	if c.ExpiresAt != nil {
		return c.ExpiresAt.Time
	}
	return time.Time{}
}

// Grants parses the token's permissions; unknown permission forms are
// dropped (a token never gains access through a string it cannot parse).
func (c *Claims) Grants() policy.Grants {
	var g policy.Grants
	for _, p := range c.Permissions {
		if one, err := policy.ParsePermissions([]string{p}); err == nil {
			g.Subscribe = append(g.Subscribe, one.Subscribe...)
			g.Publish = append(g.Publish, one.Publish...)
		}
	}
	return g
}

// mintClaims is what is written: aud as a single string, as the README's "Tokens" shows.
type mintClaims struct {
	Issuer      string   `json:"iss"`
	Subject     string   `json:"sub"`
	Audience    string   `json:"aud"`
	IssuedAt    int64    `json:"iat"`
	NotBefore   int64    `json:"nbf"`
	ExpiresAt   int64    `json:"exp"`
	ID          string   `json:"jti"`
	SessionID   string   `json:"sid,omitempty"`
	End         int64    `json:"end"`
	Name        string   `json:"name,omitempty"`
	Email       string   `json:"email,omitempty"`
	Provider    string   `json:"provider,omitempty"`
	Anonymous   bool     `json:"anon"`
	Roles       []string `json:"roles"`
	Groups      []string `json:"groups"`
	Permissions []string `json:"permissions"`
}
