package oidc

import (
	"fmt"
	"gatehouse/internal/httpx"
	"net/url"
	"strings"
)

// maxReturnTo bounds the length of a return_to value.
const maxReturnTo = 2048

// returnToPolicy decides where a browser may be sent after login or logout.
type returnToPolicy struct {
	self    string          // origin of the public URL
	allowed map[string]bool // origins of redirect_allowlist
}

func newReturnToPolicy(publicURL string, allowlist []string) (returnToPolicy, error) {
	p := returnToPolicy{allowed: map[string]bool{}}
	self, ok := httpx.Origin(publicURL)
	if !ok {
		return p, fmt.Errorf("oidc: public url %q is not an http(s) URL", publicURL)
	}
	p.self = self
	for _, a := range allowlist {
		o, ok := httpx.Origin(a)
		if !ok {
			return p, fmt.Errorf("oidc: redirect allowlist entry %q is not an http(s) origin", a)
		}
		p.allowed[o] = true
	}
	return p, nil
}

// check validates raw and returns the value to redirect to: a same-origin
// path (as given) or an absolute URL whose origin is allow-listed. Anything
// a browser could read as another origin (`//host`, `/\host`, an encoded
// slash or backslash that decodes into one, a scheme, control characters)
// wraps ErrBadReturnTo.
func (p returnToPolicy) check(raw string) (string, error) {
	bad := func(why string) (string, error) { return "", fmt.Errorf("%w: %s", ErrBadReturnTo, why) }
	if raw == "" || len(raw) > maxReturnTo {
		return bad("empty or too long")
	}
	if hasUnsafeBytes(raw) {
		return bad("control character, space or backslash")
	}
	if raw[0] == '/' {
		if len(raw) > 1 && (raw[1] == '/' || raw[1] == '\\') {
			return bad("protocol-relative")
		}
		// Decode until stable (at most a few rounds): what some server or
		// browser later decodes must not become another origin either.
		dec := raw
		for range 3 {
			next, err := url.PathUnescape(dec)
			if err != nil {
				return bad("bad escape")
			}
			if next == dec {
				break
			}
			dec = next
			if strings.ContainsFunc(dec, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) ||
				strings.HasPrefix(dec, "//") || strings.HasPrefix(dec, "/\\") {
				return bad("decodes to another origin")
			}
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
			return bad("not a path")
		}
		return raw, nil
	}
	o, ok := httpx.Origin(raw)
	if !ok {
		return bad("not a path nor an http(s) URL")
	}
	if o != p.self && !p.allowed[o] {
		return bad("origin not allow-listed")
	}
	u, _ := url.Parse(raw)
	return u.String(), nil
}

// absolute turns a checked return_to into an absolute URL on publicURL.
func (p returnToPolicy) absolute(checked string) string {
	if strings.HasPrefix(checked, "/") {
		return p.self + checked
	}
	return checked
}

// hasUnsafeBytes reports control characters, spaces, backslashes and
// non-ASCII bytes (browsers strip or normalise some of them).
func hasUnsafeBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c == 0x7f || c == '\\' || c >= 0x80 {
			return true
		}
	}
	return false
}
