package httpx

import (
	"net/http"
	"strings"
)

// CORS lets pages on configured origins call credentialed endpoints (the
// Pusher auth endpoints) from the browser: the exact Origin is echoed with
// Access-Control-Allow-Credentials, never "*".
type CORS struct {
	origins map[string]bool
}

// NewCORS allows the origins of the given URLs (see Origin: a default port
// written out names the same origin as none); entries that are not absolute
// http(s) URLs are ignored.
func NewCORS(urls ...string) *CORS {
	c := &CORS{origins: map[string]bool{}}
	for _, u := range urls {
		if o, ok := Origin(u); ok {
			c.origins[o] = true
		}
	}
	return c
}

// Allowed reports whether origin (an Origin header value) is configured. The
// header must be a serialised origin as browsers send it (no path, no default
// port); case does not matter.
func (c *CORS) Allowed(origin string) bool {
	if c == nil || origin == "" || origin == "null" {
		return false
	}
	o, ok := Origin(origin)
	return ok && o == strings.ToLower(origin) && c.origins[o]
}

// Headers adds the CORS response headers for an allowed Origin and reports
// whether it was allowed. Call it before writing the answer of the actual
// (non-preflight) request.
func (c *CORS) Headers(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if !c.Allowed(origin) {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	return true
}

// Preflight answers OPTIONS: 204 with the allowed method and headers for a
// configured origin, 204 without CORS headers otherwise (the browser then
// refuses the real request).
func (c *CORS) Preflight(w http.ResponseWriter, r *http.Request, _ string) {
	h := w.Header()
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	if c.Headers(w, r) {
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		allowed := "Authorization, Content-Type"
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" && isHeaderList(req) {
			allowed = req
		}
		h.Set("Access-Control-Allow-Headers", allowed)
		h.Set("Access-Control-Max-Age", "600")
	}
	w.WriteHeader(http.StatusNoContent)
}

// isHeaderList reports whether s is a comma-separated list of header names
// (RFC 9110 tokens), so echoing it cannot inject anything.
func isHeaderList(s string) bool {
	if len(s) > 1024 {
		return false
	}
	for _, part := range strings.Split(s, ",") {
		name := strings.TrimSpace(part)
		if name == "" {
			return false
		}
		for i := 0; i < len(name); i++ {
			ch := name[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0) {
				return false
			}
		}
	}
	return true
}
