// Package deepstream answers deepstream's HTTP authentication webhook
// (POST /webhooks/deepstream): the broker's wire format and nothing else.
// It asks authn who the caller is (authData.token, else the browser's
// session cookie deepstream forwards in connectionData.headers, else a
// fresh anonymous identity when allowed) and answers with what the policy
// grants, as deepstream expects it: 200 {id, clientData, serverData}, or
// 401 text/plain.
//
// Every front follows the same pattern, so the next one copies it:
//
//   - New(Config, deps...) validates and takes every dependency: the
//     *authn.Resolver (who is calling), a Metrics that counts decisions, a
//     *slog.Logger. A front never sees gin, config structs of other
//     packages, or global state.
//   - Routes() []httpx.Route declares the endpoints as plain net/http
//     handlers; handlers mounts them on the router (the only gin importer)
//     and httpx.Mux mounts them in tests and benchmarks.
//   - Errors are the broker's own refusal (here a text 401) or the JSON
//     error of httpx.WriteError; details go to the log, never to the
//     client.
//   - The broker's request is parsed in its own file (body.go, scan.go) and
//     fuzzed; the decision lives in one function over the parsed request.
package deepstream
