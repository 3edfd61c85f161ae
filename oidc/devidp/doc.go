// Package devidp is the development identity provider of `gatehouse dev`: a
// small OpenID provider (discovery, an authorize page where any name and a
// choice of roles log in, code flow with PKCE S256, token, JWKS, UserInfo,
// end_session) signing with a key it generates at start. It is for
// development only and says so on every page. The relying party reaches it
// over HTTP exactly as it reaches Auth0 or Keycloak.
package devidp
