package oidc

import "errors"

// Sentinel errors. The HTTP layer maps each class onto a status code and a
// generic body; the wrapped detail is only for logs.
var (
	// ErrUnknownProvider is returned for a provider name that is not configured.
	ErrUnknownProvider = errors.New("oidc: unknown provider")
	// ErrUnavailable is returned while a provider's discovery has not
	// succeeded yet.
	ErrUnavailable = errors.New("oidc: provider unavailable")
	// ErrBadReturnTo is returned for a return_to that is neither a same-origin
	// path nor an allow-listed origin.
	ErrBadReturnTo = errors.New("oidc: return_to not allowed")
	// ErrLoginFailed is wrapped by every failure of the callback: bad or
	// replayed state, failed code exchange, ID token checks, UserInfo.
	ErrLoginFailed = errors.New("oidc: login failed")
	// ErrInvalidSession is wrapped by every refusal of a present session
	// cookie: tampered, expired, idle, revoked, or its server-side part gone.
	ErrInvalidSession = errors.New("oidc: invalid session")
	// ErrInvalidToken is wrapped by every refusal of an identity provider's
	// token (token exchange, back-channel logout tokens).
	ErrInvalidToken = errors.New("oidc: invalid token")
)
