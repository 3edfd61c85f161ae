package authn

import (
	"errors"
	"time"

	"gatehouse/policy"
)

// Credential resolution errors. Fronts answer both with a generic body in
// their broker's terms; the wrapped detail is for the log.
var (
	// ErrNoCredential means the request carries none of the credentials a
	// front accepts (and anonymous access does not apply).
	ErrNoCredential = errors.New("authn: no credential")
	// ErrBadCredential means a credential is present but invalid, expired
	// or revoked. It is never followed by a fallback to anonymous.
	ErrBadCredential = errors.New("authn: invalid credential")
)

// Credential sources, as logged and as the fronts distinguish them.
const (
	// SourceToken is one of our tokens.
	SourceToken = "token"
	// SourceSession is a login session cookie.
	SourceSession = "session"
	// SourceAnonymous is a fresh anonymous identity.
	SourceAnonymous = "anonymous"
)

// Caller is who a broker-facing request acts for: the identity, what the
// policy grants it, and until when the credential holds.
type Caller struct {
	// Identity is the caller's identity (roles and groups never nil).
	Identity policy.Identity
	// Grants are the caller's grants: a token's own permissions (a policy
	// decision frozen at minting, possibly narrowed by scope), or the
	// policy's answer for a session or anonymous identity.
	Grants policy.Grants
	// ExpiresAt is when the credential ends.
	ExpiresAt time.Time
	// Source is SourceToken, SourceSession or SourceAnonymous.
	Source string
}
