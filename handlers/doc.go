// Package handlers is Gatehouse's HTTP surface: the only package that imports
// gin. It maps requests onto the domain packages (issuer, policy, oidc,
// realtime) and their errors onto the JSON error bodies and status codes of
// SPEC §3. Each route group is a struct with a Mount method.
package handlers
