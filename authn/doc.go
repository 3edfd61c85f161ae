// Package authn turns the credentials every front accepts into a Caller:
// one of our tokens (verified through the issuer and its cache), a login
// session cookie, or, where a front allows it, nothing at all (a fresh
// anonymous identity). Every broker hook, HTTP or not, asks one Resolver,
// so a credential means the same thing on every front.
package authn
