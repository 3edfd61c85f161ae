// Package oidc is Gatehouse's OpenID Connect relying party: provider
// discovery (retried in the background), the authorization code flow with
// PKCE S256, state and nonce kept in one encrypted cookie per login attempt,
// ID token checks beyond go-oidc's (nonce, iat, sub, at_hash, azp, the
// UserInfo sub), claims mapped onto a policy.Identity, session cookies
// (gorilla/securecookie, rotating keys, sliding idle timeout, server-side
// spill when a session outgrows 4 KiB), RP-initiated and back-channel
// logout, and verification of identity-provider tokens for RFC 8693 token
// exchange.
//
// It never imports gin: the handlers package maps its errors onto HTTP.
package oidc
