// Package forwardauth answers the "is this request allowed?" subrequests of
// reverse proxies: nginx auth_request (and Traefik ForwardAuth, Caddy
// forward_auth, which use the same contract) on GET /auth/verify, and the
// Nchan module's nchan_authorize_request on /webhooks/nchan. The caller is
// the session cookie or a Bearer token the proxy forwards; the policy
// decides Nchan channels as it decides every other front's.
package forwardauth
