package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// CORS lets pages on configured origins call credentialed endpoints (the
// Pusher auth endpoints) from the browser: the exact Origin is echoed with
// Access-Control-Allow-Credentials, never "*".
type CORS struct {
	origins map[string]bool
}

// NewCORS allows the origins (scheme://host[:port]) of the given URLs;
// entries that are not absolute http(s) URLs are ignored.
func NewCORS(urls ...string) *CORS {
	c := &CORS{origins: map[string]bool{}}
	for _, u := range urls {
		if o, ok := originOf(u); ok {
			c.origins[o] = true
		}
	}
	return c
}

// originOf returns the serialised origin of an absolute http(s) URL.
func originOf(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), true
}

// Allowed reports whether origin (an Origin header value) is configured.
func (c *CORS) Allowed(origin string) bool {
	if c == nil || origin == "" || origin == "null" {
		return false
	}
	o, ok := originOf(origin)
	return ok && o == strings.ToLower(origin) && c.origins[o]
}

// headers adds the CORS response headers for an allowed Origin.
func (c *CORS) headers(gc *gin.Context) bool {
	h := gc.Writer.Header()
	h.Add("Vary", "Origin")
	origin := gc.GetHeader("Origin")
	if !c.Allowed(origin) {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	return true
}

// Handle is middleware for the actual (non-preflight) request.
func (c *CORS) Handle(gc *gin.Context) {
	c.headers(gc)
	gc.Next()
}

// Preflight answers OPTIONS: 204 with the allowed method and headers for a
// configured origin, 204 without CORS headers otherwise (the browser then
// refuses the real request).
func (c *CORS) Preflight(gc *gin.Context) {
	h := gc.Writer.Header()
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	if c.headers(gc) {
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		allowed := "Authorization, Content-Type"
		if req := gc.GetHeader("Access-Control-Request-Headers"); req != "" && isHeaderList(req) {
			allowed = req
		}
		h.Set("Access-Control-Allow-Headers", allowed)
		h.Set("Access-Control-Max-Age", "600")
	}
	gc.AbortWithStatus(http.StatusNoContent)
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
