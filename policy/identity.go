package policy

// Identity is who is on the other end of a request or socket, as every front
// (tokens, broker webhooks, hosted sockets) sees it after authentication.
type Identity struct {
	// Subject is the identity's stable id: the provider's `sub` unchanged, or
	// "anon:<random>" for anonymous callers.
	Subject string
	// Name is a display name, possibly empty.
	Name string
	// Email is the verified e-mail address, possibly empty.
	Email string
	// Provider is the configured provider name the identity logged in with
	// ("" for anonymous or operator-minted identities).
	Provider string
	// Roles and Groups are the identity's roles and groups (never nil after
	// Normalize).
	Roles  []string
	Groups []string
	// Anonymous is true for identities that proved nothing.
	Anonymous bool
	// SessionID is the login session's id (`sid`), empty when there is none.
	SessionID string
	// Claims holds the raw claims the identity came with, for `claim:`
	// conditions and `{claim.path}` templates. It may be nil.
	Claims map[string]any
}

// Normalize returns a copy of id whose Roles and Groups are non-nil, so they
// encode as empty JSON arrays rather than null.
func (id Identity) Normalize() Identity {
	if id.Roles == nil {
		id.Roles = []string{}
	}
	if id.Groups == nil {
		id.Groups = []string{}
	}
	return id
}
