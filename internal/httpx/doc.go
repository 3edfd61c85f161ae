// Package httpx is the one HTTP toolkit every front shares, on net/http
// alone (no router): the JSON error body and its codes, the request body
// limit, the origin normaliser and the CORS policy built on it, the
// per-client-IP rate limiter, and the route table a front declares its
// endpoints in.
//
// A front (fronts/<broker>, the realtime protocol servers) exposes
// Routes() []Route; handlers mounts each table on the gin router, and Mux
// mounts the same table on a net/http ServeMux for tests and benchmarks.
// Either way a handler sees a plain *http.Request (r.PathValue gives the
// pattern's wildcards) and the client's address as the router resolved it
// (trusted proxies applied).
package httpx
