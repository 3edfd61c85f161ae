// Package trust verifies tokens that Gatehouse did not mint but an
// operator trusts: access tokens of the team's own identity provider
// (through its JWKS or OpenID discovery), or tokens a service signs with a
// raw public key or a shared HS secret, as the 21no.de app keys do.
//
// Every Verifier applies the RFC 8725 rules: an explicit algorithm
// allow-list (never "none", never an HS algorithm with a public key, never
// a public-key algorithm with a secret), keys chosen by configuration only
// (jku, x5u and embedded jwk headers are never fetched or trusted; kid only
// selects among configured keys), exact issuer and audience matching, a
// required exp, a bounded leeway, and a refusal of critical headers it does
// not understand. Verified tokens are cached until they expire.
package trust
