package policy

import "testing"

func TestEscapeValue(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"safe alphabet unchanged", "aZ09-_@,.;", "aZ09-_@,.;"},
		{"auth0 subject", "auth0|42", "auth0=7C42"},
		{"star", "*", "=2A"},
		{"star after dash", "x-*", "x-=2A"},
		{"equals sign", "=", "=3D"},
		{"escape lookalike", "=7C", "=3D7C"},
		{"braces", "{sub}", "=7Bsub=7D"},
		{"colon and slash", "anon:a/b", "anon=3Aa=2Fb"},
		{"space", "a b", "a=20b"},
		{"hash", "#cache", "=23cache"},
		{"nul byte", "\x00", "=00"},
		{"high byte", "\xff", "=FF"},
		{"two-byte UTF-8", "é", "=C3=A9"},
		{"four-byte UTF-8", "😀", "=F0=9F=98=80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EscapeValue(tt.in); got != tt.want {
				t.Errorf("EscapeValue(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
