package jsonenc

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`plain`, `"plain"`},
		{`<a href="x">&</a>`, `"<a href=\"x\">&</a>"`},
		{"tab\tnl\ncr\r\x01", `"tab\tnl\ncr\r\u0001"`},
		{"\xff", `"\ufffd"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{`back\slash`, `"back\\slash"`},
	} {
		if got := string(AppendString(nil, tc.in)); got != tc.want {
			t.Errorf("AppendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// FuzzAppendString: the output is always JSON that decodes to the input
// (with invalid UTF-8 replaced, as encoding/json does).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\", "\x00\x1f", "\xff\xfe", "é\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(AppendString(nil, s), &back); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		want := s
		if !utf8.ValidString(s) {
			want = strings.ToValidUTF8(s, "\ufffd")
			// encoding/json replaces each invalid byte; compare rune counts loosely
			if utf8.RuneCountInString(back) < utf8.RuneCountInString(want) {
				t.Fatalf("lost data: %q -> %q", s, back)
			}
			return
		}
		if back != want {
			t.Fatalf("%q -> %q", s, back)
		}
	})
}
