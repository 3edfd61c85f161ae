package policy

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxExpansions is the most names one configured pattern may expand to for
// one identity (array claims multiply). A pattern that would expand to more
// is dropped as a whole: a grant is never silently cut short.
const MaxExpansions = 64

type partKind uint8

const (
	partLiteral partKind = iota
	partSub
	partName
	partEmail
	partProvider
	partClaim
)

// part is a literal run of a pattern or one of its templates.
type part struct {
	kind partKind
	text string // the literal, or the claim path for partClaim
}

// pattern is a configured pattern, compiled once by New.
type pattern struct {
	raw   string
	parts []part // nil when raw has no template: raw is then the grant itself
}

// invalidText reports why s cannot appear in a pattern or permission,
// or "" when it can: it must be valid UTF-8 without spaces or control
// characters (scopes are space-separated, and a byte no pattern contains
// keeps Narrow exact).
func invalidText(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return "contains a space or control character"
		}
	}
	return ""
}

// compilePattern parses raw into literal runs and templates. On failure it
// returns the reason, worded for a ConfigError.
func compilePattern(raw string) (pattern, string) {
	if raw == "" {
		return pattern{}, "empty pattern"
	}
	if why := invalidText(raw); why != "" {
		return pattern{}, "pattern " + strconv.Quote(raw) + " " + why
	}
	if !strings.ContainsAny(raw, "{}") {
		return pattern{raw: raw}, ""
	}
	p := pattern{raw: raw}
	rest := raw
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if close := strings.IndexByte(rest, '}'); close >= 0 && (open < 0 || close < open) {
			return pattern{}, `unexpected "}" in ` + strconv.Quote(raw)
		}
		if open < 0 {
			p.parts = append(p.parts, part{kind: partLiteral, text: rest})
			break
		}
		if open > 0 {
			p.parts = append(p.parts, part{kind: partLiteral, text: rest[:open]})
		}
		rest = rest[open+1:]
		close := strings.IndexByte(rest, '}')
		if close < 0 {
			return pattern{}, `unclosed "{" in ` + strconv.Quote(raw)
		}
		name := rest[:close]
		rest = rest[close+1:]
		if strings.IndexByte(name, '{') >= 0 {
			return pattern{}, `unclosed "{" in ` + strconv.Quote(raw)
		}
		t, why := compileTemplate(name)
		if why != "" {
			return pattern{}, why
		}
		p.parts = append(p.parts, t)
	}
	return p, ""
}

// compileTemplate parses the inside of "{...}".
func compileTemplate(name string) (part, string) {
	switch name {
	case "sub":
		return part{kind: partSub}, ""
	case "name":
		return part{kind: partName}, ""
	case "email":
		return part{kind: partEmail}, ""
	case "provider":
		return part{kind: partProvider}, ""
	}
	if path, ok := strings.CutPrefix(name, "claim."); ok {
		if !validClaimPath(path) {
			return part{}, "invalid claim path in template " + strconv.Quote("{"+name+"}")
		}
		return part{kind: partClaim, text: path}, ""
	}
	return part{}, "unknown template " + strconv.Quote("{"+name+"}")
}

// validClaimPath reports whether path is a usable dotted path: non-empty,
// with no empty step.
func validClaimPath(path string) bool {
	if path == "" || path[0] == '.' || path[len(path)-1] == '.' {
		return false
	}
	return !strings.Contains(path, "..")
}

// slot holds the raw (unescaped) values one template takes for one
// identity: one value, or several when the claim is an array.
type slot struct {
	one  string
	many []string
}

func (s slot) count() int {
	if s.many != nil {
		return len(s.many)
	}
	return 1
}

func (s slot) value(i int) string {
	if s.many != nil {
		return s.many[i]
	}
	return s.one
}

// resolve finds the values of template t for id. ok is false when the value
// is missing or empty, which drops the pattern.
func resolve(id *Identity, t part) (slot, bool) {
	var v string
	switch t.kind {
	case partSub:
		v = id.Subject
	case partName:
		v = id.Name
	case partEmail:
		v = id.Email
	case partProvider:
		v = id.Provider
	case partClaim:
		c, ok := lookupClaim(id.Claims, t.text)
		if !ok {
			return slot{}, false
		}
		switch arr := c.(type) {
		case []any:
			return manySlot(len(arr), func(i int) (string, bool) { return scalarString(arr[i]) })
		case []string:
			return manySlot(len(arr), func(i int) (string, bool) { return arr[i], true })
		}
		s, ok := scalarString(c)
		if !ok {
			return slot{}, false
		}
		v = s
	}
	return slot{one: v}, v != ""
}

// manySlot collects the non-empty scalar elements of an array claim.
func manySlot(n int, elem func(int) (string, bool)) (slot, bool) {
	vals := make([]string, 0, n)
	for i := range n {
		if s, ok := elem(i); ok && s != "" {
			vals = append(vals, s)
		}
	}
	switch len(vals) {
	case 0:
		return slot{}, false
	case 1:
		return slot{one: vals[0]}, true
	}
	return slot{many: vals}, true
}

// expand adds to out every name p expands to for id; nothing when a
// template's value is missing or the expansion exceeds MaxExpansions.
func (p *pattern) expand(id *Identity, out *nameList) {
	if p.parts == nil {
		out.add(p.raw)
		return
	}
	var slotBuf [4]slot
	slots := slotBuf[:0]
	total := 1
	for _, t := range p.parts {
		if t.kind == partLiteral {
			continue
		}
		s, ok := resolve(id, t)
		if !ok {
			return
		}
		total *= s.count()
		if total > MaxExpansions {
			return
		}
		slots = append(slots, s)
	}
	var idxBuf [4]int
	idx := idxBuf[:0]
	for range slots {
		idx = append(idx, 0)
	}
	for {
		out.add(p.build(slots, idx))
		// Advance the odometer over the slots' values.
		k := len(idx) - 1
		for k >= 0 {
			idx[k]++
			if idx[k] < slots[k].count() {
				break
			}
			idx[k] = 0
			k--
		}
		if k < 0 {
			return
		}
	}
}

// build writes one expansion of p, taking value idx[i] of slots[i] for the
// i-th template, in a single allocation.
func (p *pattern) build(slots []slot, idx []int) string {
	n, j := 0, 0
	for _, t := range p.parts {
		if t.kind == partLiteral {
			n += len(t.text)
			continue
		}
		n += escapedLen(slots[j].value(idx[j]))
		j++
	}
	var b strings.Builder
	b.Grow(n)
	j = 0
	for _, t := range p.parts {
		if t.kind == partLiteral {
			b.WriteString(t.text)
			continue
		}
		writeEscaped(&b, slots[j].value(idx[j]))
		j++
	}
	return b.String()
}
