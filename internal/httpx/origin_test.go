package httpx

import "testing"

func TestOrigin(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"https://app.example.com", "https://app.example.com", true},
		{"https://app.example.com:443", "https://app.example.com", true},
		{"HTTPS://App.Example.COM:443/path?q#f", "https://app.example.com", true},
		{"http://app.example.com:80", "http://app.example.com", true},
		{"http://app.example.com:443", "http://app.example.com:443", true},
		{"https://app.example.com:80", "https://app.example.com:80", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"http://[::1]:8080/x", "http://[::1]:8080", true},
		{"http://[::1]:80", "http://[::1]", true},
		{" https://app.example.com ", "https://app.example.com", true},
		{"https://user@app.example.com", "", false},
		{"ftp://app.example.com", "", false},
		{"/path", "", false},
		{"//app.example.com", "", false},
		{"https://:443", "", false},
		{"null", "", false},
		{"", "", false},
	} {
		got, ok := Origin(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Origin(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// A default port written out in the configuration names the same origin a
// browser sends without it: the allowlist entry https://app.example.com:443
// lets that page call the Pusher auth endpoints, as it lets return_to point
// there (both go through Origin).
func TestCORSDefaultPortIsTheSameOrigin(t *testing.T) {
	c := NewCORS("https://app.example.com:443", "http://127.0.0.1:8080/", "http://legacy.example.com:80")
	for origin, want := range map[string]bool{
		"https://app.example.com":     true,
		"HTTPS://APP.EXAMPLE.COM":     true,
		"http://127.0.0.1:8080":       true,
		"http://legacy.example.com":   true,
		"https://app.example.com:443": false, // not how a browser serialises it
		"https://app.example.com/x":   false,
		"http://app.example.com":      false,
		"https://app.example.com:444": false,
		"https://evil.example":        false,
		"null":                        false,
		"":                            false,
	} {
		if got := c.Allowed(origin); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", origin, got, want)
		}
	}
	var nilCORS *CORS
	if nilCORS.Allowed("https://app.example.com") {
		t.Error("a nil CORS allows nothing")
	}
}
