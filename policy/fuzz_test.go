package policy

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// referenceMatch is Match built the obvious way: each star becomes `.*`,
// everything else is quoted.
func referenceMatch(t *testing.T, pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re, err := regexp.Compile(`\A(?s:` + strings.Join(parts, ".*") + `)\z`)
	if err != nil {
		t.Fatalf("reference regexp for %q: %v", pattern, err)
	}
	return re.MatchString(name)
}

func FuzzMatch(f *testing.F) {
	f.Add("public-*", "public-news")
	f.Add("*a*b*c*", "xaxbxcx")
	f.Add("a*ab*b", "aab")
	f.Add("*ab*ab*", "abab")
	f.Add("a.c", "abc")
	f.Add("**", "")
	f.Add("é*", "é\n")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := Match(pattern, name)
		// The regexp package works on runes, so compare on valid UTF-8,
		// where runes and bytes give the same answer; and its NFA takes
		// time len(pattern)·len(name), so keep the inputs small.
		if !utf8.ValidString(pattern) || !utf8.ValidString(name) || len(pattern) > 256 || len(name) > 1024 {
			return
		}
		if want := referenceMatch(t, pattern, name); got != want {
			t.Errorf("Match(%q, %q) = %v, reference says %v", pattern, name, got, want)
		}
	})
}

var escapedAlphabet = regexp.MustCompile(`^[-a-zA-Z0-9_=@,.;]*$`)

// unescape inverts EscapeValue; it proves EscapeValue injective.
func unescape(t *testing.T, s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || strings.IndexByte(upperHex, s[i+1]) < 0 || strings.IndexByte(upperHex, s[i+2]) < 0 {
			t.Fatalf("bad escape at %d in %q", i, s)
		}
		b.WriteByte(byte(strings.IndexByte(upperHex, s[i+1])<<4 | strings.IndexByte(upperHex, s[i+2])))
		i += 2
	}
	return b.String()
}

func FuzzEscape(f *testing.F) {
	f.Add("auth0|42", "auth0=7C42")
	f.Add("*", "=2A")
	f.Add("x-*", "{sub}")
	f.Add("zoë", "\xff\x00")
	f.Fuzz(func(t *testing.T, a, b string) {
		ea, eb := EscapeValue(a), EscapeValue(b)
		if !escapedAlphabet.MatchString(ea) {
			t.Errorf("EscapeValue(%q) = %q, outside the channel alphabet", a, ea)
		}
		if strings.Contains(ea, "*") || len(ea) != escapedLen(a) {
			t.Errorf("EscapeValue(%q) = %q: has a star or a wrong length", a, ea)
		}
		if got := unescape(t, ea); got != a {
			t.Errorf("unescape(EscapeValue(%q)) = %q", a, got)
		}
		if (a == b) != (ea == eb) {
			t.Errorf("EscapeValue(%q) = %q, EscapeValue(%q) = %q: not injective", a, ea, b, eb)
		}
	})
}

// fill replaces the stars of pattern with the fillers in turn.
func fill(pattern string, fillers ...string) string {
	var b strings.Builder
	k := 0
	for i := 0; i < len(pattern); i++ {
		if pattern[i] == '*' {
			b.WriteString(fillers[k%len(fillers)])
			k++
			continue
		}
		b.WriteByte(pattern[i])
	}
	return b.String()
}

func FuzzNarrow(f *testing.F) {
	f.Add("public-*", "private-chat", "*", "x", "public-x", "")
	f.Add("private-*", "", "private-chat", "y", "private-chat", "z")
	f.Add("*a*", "b*", "a*", "b", "ba", "a")
	f.Add("a*b", "*", "a*xb", "b", "axbb", "x")
	f.Fuzz(func(t *testing.T, g1, g2, requested, f1, f2, name string) {
		granted := Grants{Subscribe: []string{g1, g2}, Publish: []string{g2}}
		req := Grants{Subscribe: []string{requested}, Publish: []string{requested}}
		narrowed := granted.Narrow(req)
		// Every kept pattern comes from the request.
		for _, p := range slices.Concat(narrowed.Subscribe, narrowed.Publish) {
			if p != requested {
				t.Fatalf("Narrow kept %q, which was not requested", p)
			}
		}
		samples := []string{
			name, requested,
			fill(requested, ""), fill(requested, f1), fill(requested, f2),
			fill(requested, f1, f2), fill(requested, f2, f1, ""),
			fill(requested, f1+f2+g1), fill(requested, g1, g2),
		}
		for _, n := range samples {
			if narrowed.CanSubscribe(n) && !granted.CanSubscribe(n) {
				t.Errorf("Narrow(%q) under %q lets %q subscribe, the grants do not", requested, granted.Subscribe, n)
			}
			if narrowed.CanPublish(n) && !granted.CanPublish(n) {
				t.Errorf("Narrow(%q) under %q lets %q publish, the grants do not", requested, granted.Publish, n)
			}
		}
		// A literal the grants allow is never dropped.
		if !strings.Contains(requested, "*") && granted.CanSubscribe(requested) && len(narrowed.Subscribe) != 1 {
			t.Errorf("Narrow dropped literal %q that %q allow", requested, granted.Subscribe)
		}
	})
}

func FuzzParseScope(f *testing.F) {
	f.Add("realtime:subscriber:read:topic:private-chat realtime:publisher:write:topic:private-*")
	f.Add("openid")
	f.Add("realtime:subscriber:read:topic:\t realtime:subscriber:read:topic:a\u00a0b")
	f.Fuzz(func(t *testing.T, scope string) {
		g, err := ParseScope(scope)
		if err != nil {
			return
		}
		back, err := ParseScope(strings.Join(g.Permissions(), " "))
		if err != nil || !slices.Equal(back.Subscribe, g.Subscribe) || !slices.Equal(back.Publish, g.Publish) {
			t.Errorf("round trip of %q: %#v, %v, want %#v", scope, back, err, g)
		}
	})
}
