package oidc

import (
	"errors"
	"gatehouse/internal/httpx"
	"strings"
	"testing"
)

func TestReturnTo(t *testing.T) {
	p, err := newReturnToPolicy("https://rt.example.com", []string{"https://app.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	good := map[string]string{
		"/account":                       "/account",
		"/a/b?c=d#e":                     "/a/b?c=d#e",
		"/":                              "/",
		"https://app.example.com/x":      "https://app.example.com/x",
		"https://APP.example.com:443/x":  "https://APP.example.com:443/x",
		"https://rt.example.com/account": "https://rt.example.com/account",
		"/path%20with%20escapes":         "/path%20with%20escapes",
	}
	for in, want := range good {
		t.Run("ok "+in, func(t *testing.T) {
			got, err := p.check(in)
			if err != nil || got != want {
				t.Fatalf("check(%q) = %q, %v", in, got, err)
			}
		})
	}
	bad := []string{
		"", "//evil.com", "//evil.com/path", "/\\evil.com", "\\\\evil.com", "\\/evil.com",
		"/%2F%2Fevil.com", "/%2f/evil.com", "/%5Cevil.com", "/%252F%252Fevil.com",
		"/\tevil", "/\nevil", "/ev\ril", "/x\x00", " /account",
		"https://evil.com/", "http://app.example.com/", "https://app.example.com.evil.com/",
		"https://app.example.com@evil.com/", "https://user:pw@app.example.com/",
		"javascript:alert(1)", "data:text/html,hi", "evil.com", "account", "ftp://app.example.com/",
		"https:evil.com", "/" + strings.Repeat("a", 3000), "/\u00e9",
	}
	for _, in := range bad {
		t.Run("bad "+in, func(t *testing.T) {
			if got, err := p.check(in); !errors.Is(err, ErrBadReturnTo) {
				t.Fatalf("check(%q) = %q, %v: accepted", in, got, err)
			}
		})
	}
}

func FuzzReturnTo(f *testing.F) {
	for _, s := range []string{"/account", "//evil", "/%2F%2Fx", "https://app.example.com/a", "/\\x", "https://evil/"} {
		f.Add(s)
	}
	p, _ := newReturnToPolicy("https://rt.example.com", []string{"https://app.example.com"})
	f.Fuzz(func(t *testing.T, in string) {
		got, err := p.check(in)
		if err != nil {
			return
		}
		// Whatever is accepted is a local path that no decoding turns into
		// another origin, or an allow-listed absolute URL.
		if strings.HasPrefix(got, "/") {
			if strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\r\n ") {
				t.Fatalf("accepted %q", got)
			}
			return
		}
		o, ok := httpx.Origin(got)
		if !ok || (o != "https://rt.example.com" && o != "https://app.example.com") {
			t.Fatalf("accepted %q (origin %q)", got, o)
		}
	})
}
