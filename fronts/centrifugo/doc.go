// Package centrifugo answers Centrifugo v6's proxy requests (connect,
// refresh, subscribe, publish, sub_refresh) from the same identities and
// the same policy as every other front, and ends the Centrifugo
// connections of a revoked login session through Centrifugo's server API.
//
// The connect proxy resolves the caller from the forwarded Cookie header
// (a browser on the same site), a Gatehouse or trusted-issuer token in the
// forwarded Authorization header or in the connect data ({"token": "…"}),
// or anonymously when enabled. Its answer carries the grants, the login
// session and the credential's end in the connection's meta, which
// Centrifugo sends back with every later proxy request of the connection
// (include_connection_meta), so subscribe, publish and refresh decide
// without state in Gatehouse.
package centrifugo
