// Package nats runs the auth callout service of NATS ≥ 2.10 (centralized
// authorization): it subscribes to $SYS.REQ.USER.AUTH as the configured
// auth user, verifies the credential a client presented in its connect
// options (auth_token, or the password with any user name, as nats.ws
// browser clients can send) like every other front, and answers with a
// user JWT for the target account, signed with the configured issuer key:
// publish and subscribe allow lists from the policy, an expiry no later
// than the credential's. The encrypted (xkey) variant is supported.
package nats
