package httpx

import (
	"net/url"
	"strings"
)

// Origin returns the serialised origin (RFC 6454) of an absolute http(s)
// URL: scheme://host[:port], lower-cased, without the scheme's default port,
// IPv6 hosts in brackets. A URL with userinfo, another scheme or no host is
// not an origin. Every comparison of origins (return_to, CORS, the CSRF
// check's own origin) goes through it, so "https://app.example.com:443" and
// "https://app.example.com" are one origin everywhere.
func Origin(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.User != nil {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", false
	}
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, true
}
