package httpx

import (
	"net/http"
	"strings"
)

// Handler serves one route. r.PathValue gives the wildcards of the route's
// pattern; clientIP is the caller's address as the router resolved it
// (X-Forwarded-For only from trusted proxies).
type Handler func(w http.ResponseWriter, r *http.Request, clientIP string)

// Route is one entry of a route table.
type Route struct {
	// Method is the HTTP method ("GET", "POST", "OPTIONS").
	Method string
	// Pattern is the path in net/http ServeMux syntax: "/apps/{id}/events".
	// Only whole-segment wildcards are used, so every router can mount it.
	Pattern string
	// Handler serves the route.
	Handler Handler
	// Upgrade marks a WebSocket endpoint: the handler hijacks the
	// connection and writes the 101 itself.
	Upgrade bool
}

// Mux serves a route table on a net/http ServeMux, as the gin router of
// handlers does: bodies over MaxBodyBytes refused, an unknown path a JSON
// 404 and a known path with another method a JSON 405. clientIP gives each
// request's client address (nil: the host of r.RemoteAddr). Tests,
// benchmarks and servers without gin use it.
func Mux(routes []Route, clientIP func(*http.Request) string) *http.ServeMux {
	if clientIP == nil {
		clientIP = remoteHost
	}
	byPattern := map[string]map[string]Route{}
	var order []string
	for _, rt := range routes {
		m := byPattern[rt.Pattern]
		if m == nil {
			m = map[string]Route{}
			byPattern[rt.Pattern] = m
			order = append(order, rt.Pattern)
		}
		m[rt.Method] = rt
	}
	mux := http.NewServeMux()
	for _, pattern := range order {
		methods := byPattern[pattern]
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			rt, ok := methods[r.Method]
			if !ok {
				WriteError(w, http.StatusMethodNotAllowed, CodeInvalidRequest, "method not allowed")
				return
			}
			if !rt.Upgrade && !LimitBody(w, r) {
				return
			}
			rt.Handler(w, r, clientIP(r))
		})
	}
	if byPattern["/"] == nil {
		mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
			WriteError(w, http.StatusNotFound, CodeNotFound, "no such endpoint")
		})
	}
	return mux
}

// remoteHost is the host part of r.RemoteAddr.
func remoteHost(r *http.Request) string {
	addr := r.RemoteAddr
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		addr = addr[:i]
	}
	return strings.Trim(addr, "[]")
}
