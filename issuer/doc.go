// Package issuer mints and verifies Gatehouse's realtime tokens.
//
// Tokens are JWTs with header typ "at+jwt" and a kid naming a configured key.
// Verification follows RFC 8725: only algorithms of configured keys, the kid
// is required and must name a key whose algorithm equals the header's, iss,
// aud and exp are required, at most 30 s of clock leeway, and jku, x5u, jwk
// and x5c headers are refused rather than followed. Token shapes for other
// consumers (profiles) plug in through Register.
package issuer
