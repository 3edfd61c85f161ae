package nats

import (
	"slices"
	"testing"

	"gatehouse/policy"
)

func TestSubjects(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" when dropped
	}{
		{"chat.room", "chat.room"},
		{"chat.*", "chat.>"},
		{"*", ">"},
		{"user.auth0|42.*", "user.auth0|42.>"},
		{"orders.*.created", "orders.*.created"},
		{"*.news", "*.news"},
		{"chat-*", ""},
		{"chat.room*", ""},
		{"a*b.c", ""},
		{"chat..room", ""},
		{".chat", ""},
		{"chat.", ""},
		{"chat.>", ""},
		{">", ""},
		{"private-chat", "private-chat"},
	} {
		got, dropped := Subjects([]string{tc.in})
		if tc.want == "" {
			if len(got) != 0 || !slices.Equal(dropped, []string{tc.in}) {
				t.Errorf("%q: got %v, want it dropped", tc.in, got)
			}
			continue
		}
		if !slices.Equal(got, []string{tc.want}) || len(dropped) != 0 {
			t.Errorf("%q: got %v (dropped %v), want %q", tc.in, got, dropped, tc.want)
		}
	}
}

// The mapping never widens: for every policy pattern that maps, every
// subject the NATS filter matches, the policy (its own matcher) matches
// too. Patterns and subjects are every string of up to five characters over
// an alphabet holding both wildcards, the separator and two letters.
func TestSubjectsNeverWiden(t *testing.T) {
	patterns := strings5("ab.*>")
	names := strings5("ab.>")
	mapped := 0
	for _, p := range patterns {
		subs, _ := Subjects([]string{p})
		if len(subs) == 0 {
			continue
		}
		mapped++
		for _, n := range names {
			if validSubject(n) && natsMatch(subs[0], n) && !policy.Match(p, n) {
				t.Fatalf("%q → %q matches %q, which the policy pattern does not", p, subs[0], n)
			}
		}
	}
	if mapped < 100 {
		t.Fatalf("only %d patterns mapped; the test proves little", mapped)
	}
}

// strings5 returns every string of one to five bytes over alphabet.
func strings5(alphabet string) []string {
	out := []string{}
	level := []string{""}
	for range 5 {
		var next []string
		for _, s := range level {
			for i := range len(alphabet) {
				next = append(next, s+alphabet[i:i+1])
			}
		}
		out = append(out, next...)
		level = next
	}
	return out
}

// validSubject reports whether s is a subject a client can publish to: no
// empty token, no wildcard token.
func validSubject(s string) bool {
	for _, t := range splitDots(s) {
		if t == "" || t == "*" || t == ">" {
			return false
		}
	}
	return true
}

func natsMatch(filter, subject string) bool {
	f, s := splitDots(filter), splitDots(subject)
	for i, t := range f {
		if t == ">" {
			return len(s) > i
		}
		if i >= len(s) || (t != "*" && t != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// FuzzSubjectsNeverWiden: whatever the pattern, the subject it maps to
// matches no valid subject the policy pattern does not.
func FuzzSubjectsNeverWiden(f *testing.F) {
	for _, s := range [][2]string{{"chat.*", "chat.a.b"}, {"orders.*.created", "orders.1.created"}, {"*", "x"}, {"a*", "ab"}, {"x.>", "x.y"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		subs, dropped := Subjects([]string{pattern})
		if len(subs)+len(dropped) != 1 {
			t.Fatalf("%q: %v and %v", pattern, subs, dropped)
		}
		if len(subs) == 1 && validSubject(name) && natsMatch(subs[0], name) && !policy.Match(pattern, name) {
			t.Fatalf("%q → %q matches %q, which the policy pattern does not", pattern, subs[0], name)
		}
	})
}
