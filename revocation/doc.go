// Package revocation keeps the session ids that were logged out (README,
// "Logging people in"): the one revocation API (List: Revoke, Revoked,
// Subscribe). Every verifier of cookies and tokens asks it before
// accepting a sid, and the realtime hub subscribes to it, so a logout
// closes the session's live sockets wherever the logout was made. Memory
// serves one process; realtime/redis.Revocations spans the nodes of one
// Redis. revocationtest is the suite both pass.
package revocation
