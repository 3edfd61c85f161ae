// Package handlers is Gatehouse's HTTP surface: the only package that imports
// gin. It builds the router and its middleware, mounts the route tables of
// the fronts (fronts/<broker>) and of the realtime protocol servers
// (Routes), and serves the endpoints of its own: tokens, login, pages,
// health and metrics. Errors are the JSON body of httpx.WriteError (README,
// "HTTP endpoints"). Each route group is a struct with a Mount method.
package handlers
