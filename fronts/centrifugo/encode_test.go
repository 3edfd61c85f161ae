package centrifugo

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The hand-written encoding says what encoding/json would.
func TestAppendConnectMatchesEncodingJSON(t *testing.T) {
	for _, r := range []connectResult{
		{User: "ada"},
		{User: "a\"b\\c\n\x01 é \U0001F600 \xff", ExpireAt: 1800000000, Info: json.RawMessage(`{"name":"Ada"}`),
			Channels: []string{"chat:1", "x\"y"}, Meta: &meta{Sub: "s", SID: "sid", End: 5, Anon: true, Permissions: []string{"p1", "p\t2"}}},
		{User: "", Meta: &meta{Permissions: []string{}}},
	} {
		got := appendConnect(nil, r)
		var gotV, wantV any
		if err := json.Unmarshal(got, &gotV); err != nil {
			t.Fatalf("invalid JSON %s: %v", got, err)
		}
		want, _ := json.Marshal(answer{Result: r})
		_ = json.Unmarshal(want, &wantV)
		if !reflect.DeepEqual(gotV, wantV) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\", "\x00\x1f", "é", "\xff\xfe", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Fatalf("invalid JSON for %q: %v", s, err)
		}
		b, _ := json.Marshal(s)
		_ = json.Unmarshal(b, &want)
		if got != want {
			t.Fatalf("%q: got %q, want %q", s, got, want)
		}
	})
}
