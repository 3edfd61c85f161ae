// Package revocation keeps the session ids that were logged out (SPEC §9).
// Every verifier of cookies and tokens asks it before accepting a sid; the
// realtime hub is told separately so it closes live sockets. The in-memory
// List serves one process; a backplane-backed one spans nodes.
package revocation
