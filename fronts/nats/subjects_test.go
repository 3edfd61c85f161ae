package nats

import (
	"slices"
	"testing"
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
// subject the NATS filter matches, the policy pattern matches too.
func TestSubjectsNeverWiden(t *testing.T) {
	names := []string{"chat", "chat.room", "chat.room.x", "orders.1.created", "orders.1.2.created", "x.news", "news", "user.auth0|42.a"}
	for _, p := range []string{"chat.*", "*", "orders.*.created", "*.news", "user.auth0|42.*", "chat.room"} {
		subs, _ := Subjects([]string{p})
		for _, n := range names {
			if natsMatch(subs[0], n) && !globMatch(p, n) {
				t.Errorf("%q → %q matches %q, which the policy pattern does not", p, subs[0], n)
			}
		}
	}
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

// globMatch is the policy's `*` semantics (any run of bytes).
func globMatch(p, n string) bool {
	if p == "" {
		return n == ""
	}
	if p[0] == '*' {
		for i := 0; i <= len(n); i++ {
			if globMatch(p[1:], n[i:]) {
				return true
			}
		}
		return false
	}
	return n != "" && p[0] == n[0] && globMatch(p[1:], n[1:])
}
