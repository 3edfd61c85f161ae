package issuer

import "errors"

// Sentinel errors. Callers answer every one of them with a generic "invalid
// token"; the wrapped detail is for logs only.
var (
	// ErrInvalidToken is wrapped by every verification failure.
	ErrInvalidToken = errors.New("issuer: invalid token")
	// ErrRevoked is returned for a token whose session id was revoked.
	ErrRevoked = errors.New("issuer: session revoked")
	// ErrUnknownProfile is returned when minting with an unregistered profile.
	ErrUnknownProfile = errors.New("issuer: unknown profile")
	// ErrUnsupportedAlg is returned when minting with an algorithm no key has.
	ErrUnsupportedAlg = errors.New("issuer: no key for algorithm")
	// ErrCredentialEnded is returned when minting for a credential whose
	// absolute end (Request.End) has passed.
	ErrCredentialEnded = errors.New("issuer: the credential has ended")
)
