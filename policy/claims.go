package policy

import (
	"encoding/json"
	"strconv"
)

// Claim returns the value at the dotted path in id.Claims. A key that itself
// contains dots (Auth0's namespaced "https://example.com/roles") is found
// too: at each level the longest remaining path is tried as one key first,
// then each dot is tried as a step into a nested object, left to right.
func (id Identity) Claim(path string) (any, bool) {
	return lookupClaim(id.Claims, path)
}

// lookupClaim resolves a dotted path in m (see Identity.Claim). The branching
// is bounded by the number of dots in path, which comes from the operator's
// configuration, not from the caller.
func lookupClaim(m map[string]any, path string) (any, bool) {
	if m == nil || path == "" {
		return nil, false
	}
	if v, ok := m[path]; ok {
		return v, true
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		sub, ok := m[path[:i]].(map[string]any)
		if !ok {
			continue
		}
		if v, ok := lookupClaim(sub, path[i+1:]); ok {
			return v, true
		}
	}
	return nil, false
}

// appendScalar appends the string form of a scalar claim value to dst:
// strings as they are, booleans as "true"/"false", numbers in plain decimal
// notation ("3", "2.5", never "3e+00"). ok is false for nil, arrays, objects
// and anything else that is not a scalar.
func appendScalar(dst []byte, v any) (_ []byte, ok bool) {
	switch x := v.(type) {
	case string:
		return append(dst, x...), true
	case json.Number:
		return append(dst, x...), true
	case bool:
		return strconv.AppendBool(dst, x), true
	case float64:
		return strconv.AppendFloat(dst, x, 'f', -1, 64), true
	case float32:
		return strconv.AppendFloat(dst, float64(x), 'f', -1, 32), true
	case int:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int64:
		return strconv.AppendInt(dst, x, 10), true
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), true
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint64:
		return strconv.AppendUint(dst, x, 10), true
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), true
	}
	return dst, false
}

// scalarString is appendScalar for one value; it allocates only for
// non-string scalars.
func scalarString(v any) (string, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	var buf [32]byte
	b, ok := appendScalar(buf[:0], v)
	if !ok {
		return "", false
	}
	return string(b), true
}

// scalarEquals reports whether the scalar v has the string form want,
// without allocating.
func scalarEquals(v any, want string) bool {
	if s, ok := v.(string); ok {
		return s == want
	}
	var buf [32]byte
	b, ok := appendScalar(buf[:0], v)
	return ok && string(b) == want
}

// claimEquals reports whether the claim value v equals want: a scalar by its
// string form, an array when any element does.
func claimEquals(v any, want string) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if scalarEquals(e, want) {
				return true
			}
		}
		return false
	case []string:
		for _, e := range x {
			if e == want {
				return true
			}
		}
		return false
	}
	return scalarEquals(v, want)
}

// ClaimStrings reads the claim at path as a list of strings: a JSON array
// (non-string and empty elements skipped) or a single non-empty string.
// Anything else, or no claim, is an empty list (never nil).
func (id Identity) ClaimStrings(path string) []string {
	v, ok := id.Claim(path)
	if !ok {
		return []string{}
	}
	switch x := v.(type) {
	case string:
		if x == "" {
			return []string{}
		}
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	case []string:
		out := make([]string, 0, len(x))
		for _, s := range x {
			if s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return []string{}
}

// FirstString returns the first of keys whose value in m is a non-empty
// string ("" when none is): the display name among name,
// preferred_username, nickname and email, for instance.
func FirstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}
