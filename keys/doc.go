// Package keys loads, generates and publishes the signing keys Gatehouse mints
// its tokens with.
//
// A Set holds every configured key: the first is active and signs, all of them
// verify and are published in the JWKS document, so keys can be rotated
// without invalidating tokens already handed out. Supported algorithms are
// ES256, ES384, ES512, RS256, PS256, EdDSA and HS256; HS256 secrets are never
// published.
package keys
