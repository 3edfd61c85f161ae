package pusherproto

import (
	"strings"
	"testing"
)

func TestValidSocketID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"1234.1234", true},
		{"1.2", true},
		{"123456789012345678.123456789012345678", true},
		{"", false},
		{"1234", false},
		{".1234", false},
		{"1234.", false},
		{"12.34.56", false},
		{"12a.34", false},
		{"-1.2", false},
		{" 1.2", false},
		{"1.2\n", false},
		{strings.Repeat("1", 30) + "." + strings.Repeat("2", 30), false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ValidSocketID(tt.in); got != tt.want {
				t.Fatalf("ValidSocketID(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidChannelName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"private-foobar", true},
		{"presence-lobby", true},
		{"#server-to-user-42", true},
		{"private-user-auth0=7C42", true},
		{"a-_=@,.;Z9", true},
		{strings.Repeat("a", 200), true},
		{strings.Repeat("a", 201), false},
		{"", false},
		{"#", false},
		{"##a", false},
		{"a#b", false},
		{"with space", false},
		{"slash/no", false},
		{"star*", false},
		{"ünicode", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ValidChannelName(tt.in); got != tt.want {
				t.Fatalf("ValidChannelName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzValidSocketID(f *testing.F) {
	for _, s := range []string{"1.2", "1234.1234", "", ".", "1..2", "99999999999999999999.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ValidSocketID(s)
		parts := strings.Split(s, ".")
		want := len(s) <= maxSocketIDLen && len(parts) == 2 && digits(parts[0]) && digits(parts[1])
		if got != want {
			t.Fatalf("ValidSocketID(%q) = %v, want %v", s, got, want)
		}
	})
}

func FuzzValidChannelName(f *testing.F) {
	for _, s := range []string{"private-a", "#x", "", "a b", strings.Repeat("z", 201)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidChannelName(s) {
			return
		}
		if len(s) > MaxChannelNameLen || strings.ContainsAny(s, " /*\x00\"\\") || strings.LastIndexByte(s, '#') > 0 {
			t.Fatalf("ValidChannelName accepted %q", s)
		}
	})
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func TestValidServerToUserChannel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"#server-to-user-12345", true},
		{"#server-to-user-auth0|42", true},
		{"#server-to-user-dev|grace", true},
		{"#server-to-user-üser", true},
		{"#server-to-user-", false},
		{"#server-to-user-a b", false},
		{"#server-to-user-a\nb", false},
		{"#server-to-user-a\x00", false},
		{"#server-to-user-\xff", false},
		{"#server-to-user-" + strings.Repeat("a", 201), false},
		{"private-auth0|42", false},
		{"#private-x|y", false},
	} {
		if got := ValidServerToUserChannel(tc.in); got != tc.want {
			t.Errorf("ValidServerToUserChannel(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
