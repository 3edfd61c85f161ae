package policy

import "strings"

// unescaped lists the bytes EscapeValue leaves alone: the Pusher channel-name
// alphabet without "=" (which introduces an escape) and without "*".
const unescaped = "-_@,.;" +
	"0123456789" +
	"abcdefghijklmnopqrstuvwxyz" +
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ"

var isUnescaped = func() (t [256]bool) {
	for i := 0; i < len(unescaped); i++ {
		t[unescaped[i]] = true
	}
	return t
}()

const upperHex = "0123456789ABCDEF"

// EscapeValue escapes s for use inside a channel name or pattern: every byte
// outside [-a-zA-Z0-9_@,.;] becomes "=" followed by two upper-case hex
// digits ("auth0|42" → "auth0=7C42", "*" → "=2A", "=" → "=3D"); a multi-byte
// UTF-8 character becomes one escape per byte. The result is a valid Pusher
// channel name (when non-empty), never contains "*", and distinct inputs
// give distinct outputs.
func EscapeValue(s string) string {
	n := escapedLen(s)
	if n == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(n)
	writeEscaped(&b, s)
	return b.String()
}

// escapedLen returns len(EscapeValue(s)) without building it.
func escapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if !isUnescaped[s[i]] {
			n += 2
		}
	}
	return n
}

// writeEscaped writes EscapeValue(s) to b.
func writeEscaped(b *strings.Builder, s string) {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnescaped[c] {
			continue
		}
		b.WriteString(s[start:i])
		b.WriteByte('=')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&0x0f])
		start = i + 1
	}
	b.WriteString(s[start:])
}
