package nats

import "strings"

// Subjects maps policy patterns onto NATS subject filters. A policy `*`
// matches any run of bytes, dots included; a NATS wildcard is a whole
// token: `*` one token, `>` one or more at the end. A pattern maps when:
//
//   - it has no `*`: the literal subject, if it is a valid one;
//   - it is `*`: `>`;
//   - its `*`s each fill a whole dot-separated token: a last-token `*`
//     becomes `>` (exactly what the policy allows), an inner one `*`
//     (one token where the policy would allow several: narrower, never
//     wider).
//
// Anything else (`user-*`, `a*b.c`, a token that is `>`, empty tokens) has
// no NATS form that is not wider, and is dropped; dropped reports them.
func Subjects(patterns []string) (subjects, dropped []string) {
	seen := map[string]bool{}
	for _, p := range patterns {
		s, ok := subject(p)
		if !ok {
			dropped = append(dropped, p)
			continue
		}
		if !seen[s] {
			seen[s] = true
			subjects = append(subjects, s)
		}
	}
	return subjects, dropped
}

func subject(p string) (string, bool) {
	if p == "*" {
		return ">", true
	}
	tokens := strings.Split(p, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return "", false
		case t == ">":
			return "", false // a literal ">" token cannot be expressed
		case strings.ContainsAny(t, " \t\r\n"):
			return "", false
		case t == "*":
			if i == len(tokens)-1 {
				tokens[i] = ">"
			}
		case strings.Contains(t, "*"):
			return "", false
		}
	}
	return strings.Join(tokens, "."), true
}
