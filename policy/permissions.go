package policy

import (
	"fmt"
	"strings"
)

// Permission string prefixes, in the form the realtime-pubsub-client npm
// package and its hosted service use; the pattern follows the prefix.
const (
	// SubscribePermission prefixes a pattern the holder may subscribe to.
	SubscribePermission = "realtime:subscriber:read:topic:"
	// PublishPermission prefixes a pattern the holder may publish on.
	PublishPermission = "realtime:publisher:write:topic:"
)

// Permissions returns g as permission strings: SubscribePermission + p for
// each Subscribe pattern, then PublishPermission + p for each Publish
// pattern. The result is never nil, so it encodes as a JSON array.
func (g Grants) Permissions() []string {
	out := make([]string, 0, len(g.Subscribe)+len(g.Publish))
	for _, p := range g.Subscribe {
		out = append(out, SubscribePermission+p)
	}
	for _, p := range g.Publish {
		out = append(out, PublishPermission+p)
	}
	return out
}

// ParsePermissions is the inverse of Permissions. It fails, with an error
// wrapping ErrInvalidPermission, on any string that is not one of the two
// known forms or whose pattern is empty, not UTF-8, or holds a space or
// control character. Duplicates are dropped; the lists are never nil.
func ParsePermissions(perms []string) (Grants, error) {
	sub := nameList{names: []string{}}
	pub := nameList{names: []string{}}
	for _, perm := range perms {
		var list *nameList
		p, ok := strings.CutPrefix(perm, SubscribePermission)
		if ok {
			list = &sub
		} else if p, ok = strings.CutPrefix(perm, PublishPermission); ok {
			list = &pub
		} else {
			return Grants{}, fmt.Errorf("%w: unknown permission %q", ErrInvalidPermission, perm)
		}
		if p == "" {
			return Grants{}, fmt.Errorf("%w: empty pattern in %q", ErrInvalidPermission, perm)
		}
		if why := invalidText(p); why != "" {
			return Grants{}, fmt.Errorf("%w: pattern in %q %s", ErrInvalidPermission, perm, why)
		}
		list.add(p)
	}
	return Grants{Subscribe: sub.names, Publish: pub.names}, nil
}

// ParseScope parses an OAuth `scope` parameter: permission strings separated
// by spaces (see ParsePermissions). An empty or all-space scope gives empty
// Grants; whether a missing scope means "no narrowing" is the caller's
// decision.
func ParseScope(scope string) (Grants, error) {
	return ParsePermissions(strings.FieldsFunc(scope, isScopeSpace))
}

// isScopeSpace reports whether r separates scope tokens. Only ASCII white
// space does, so any pattern ParsePermissions accepts survives a round trip
// through a scope string.
func isScopeSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r'
}
