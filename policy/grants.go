package policy

import "strings"

// Grants is what an identity may do: the expanded patterns of the channels
// (topics) it may subscribe to and publish on.
type Grants struct {
	// Subscribe lists the patterns of channels the identity may subscribe to.
	Subscribe []string
	// Publish lists the patterns of channels the identity may publish on.
	Publish []string
}

// Match reports whether name matches pattern: `*` in pattern matches any run
// of bytes, the empty run included, and every other byte matches only
// itself. There are no other metacharacters and no escapes. It runs in time
// linear in len(pattern) plus the cost of one substring search per
// star-separated segment, never backtracking, and does not allocate.
//
// A `*` in name is an ordinary byte, which makes Match(g, r) also the test of
// whether every name the pattern r matches is matched by g (see Narrow).
func Match(pattern, name string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == name
	}
	// The literal before the first star is a prefix of name.
	if !strings.HasPrefix(name, pattern[:star]) {
		return false
	}
	name = name[star:]
	pattern = pattern[star+1:]
	for {
		star = strings.IndexByte(pattern, '*')
		if star < 0 {
			// The literal after the last star is a suffix of what is left.
			return strings.HasSuffix(name, pattern)
		}
		seg := pattern[:star]
		pattern = pattern[star+1:]
		if seg == "" {
			continue
		}
		// A literal between two stars: its leftmost occurrence leaves the
		// most of name for the rest, so taking it is never wrong.
		i := strings.Index(name, seg)
		if i < 0 {
			return false
		}
		name = name[i+len(seg):]
	}
}

// matchAny reports whether any of patterns matches name.
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if Match(p, name) {
			return true
		}
	}
	return false
}

// CanSubscribe reports whether g lets its holder subscribe to channel.
func (g Grants) CanSubscribe(channel string) bool {
	return matchAny(g.Subscribe, channel)
}

// CanPublish reports whether g lets its holder publish on channel. Whether
// that also allows client events (README, "Hosting the realtime layer": it does on private and presence
// channels) is the caller's decision.
func (g Grants) CanPublish(channel string) bool {
	return matchAny(g.Publish, channel)
}

// Narrow returns the patterns of requested that g already covers, so that a
// caller can ask for less than it is granted but never for more. A requested
// pattern is kept when every name it matches is matched by one of g's
// patterns of the same kind: a literal when it matches, `private-a*` under
// `private-*`, but not `*` under `public-*`. Order follows requested and
// duplicates are dropped; the lists are never nil.
//
// The test is language inclusion of one glob in another: g covers r exactly
// when Match(g, r) with r's stars taken as ordinary bytes, because a star of
// g can absorb the unknown run behind a star of r while a literal byte of g
// cannot. It is exact, and not just safe, whenever some byte occurs in no
// granted pattern, which holds for every pattern New and ParsePermissions
// accept (they contain no control characters). A requested pattern that
// only the union of several granted patterns covers is dropped: that needs
// grants spelling out every possible byte, and dropping is the safe side.
func (g Grants) Narrow(requested Grants) Grants {
	return Grants{
		Subscribe: narrow(g.Subscribe, requested.Subscribe),
		Publish:   narrow(g.Publish, requested.Publish),
	}
}

func narrow(granted, requested []string) []string {
	out := nameList{names: make([]string, 0, len(requested))}
	for _, r := range requested {
		if matchAny(granted, r) {
			out.add(r)
		}
	}
	return out.names
}
