package authn

import (
	"net/http"
	"time"

	"gatehouse/policy"
)

// SessionReader reads the login session a request carries. The oidc
// package's session codec implements it; fronts that accept a session cookie
// depend on this alone.
type SessionReader interface {
	// Identity returns the identity of the session cookie in r and when the
	// session ends. ok is false when r carries no session cookie; err is
	// non-nil when a cookie is present but invalid, expired or revoked (the
	// caller must then refuse, never fall back to anonymous).
	Identity(r *http.Request) (id policy.Identity, expiresAt time.Time, ok bool, err error)
}
