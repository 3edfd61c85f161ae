package nats

import (
	"sync"
	"time"
)

// Bounds of the session → connection index. Past them a connection is not
// remembered: it then ends at its user JWT's expiry (at most tokens.ttl)
// instead of at the logout, so a bound costs promptness, never access.
const (
	// maxConns bounds the connections remembered over all sessions.
	maxConns = 100_000
	// maxConnsPerSession bounds one session's connections, so one login
	// that opens connection after connection cannot fill the index; past
	// it the session's oldest connection is forgotten.
	maxConnsPerSession = 64
)

// connRef names one client connection on one NATS server, as the system
// account's kick request does, and how long its user JWT lasts.
type connRef struct {
	server string
	cid    uint64
	until  time.Time
}

type connKey struct {
	server string
	cid    uint64
}

// conns remembers which NATS connections each login session opened (filled
// by the callout, emptied by disconnect events, revocations and expiry).
type conns struct {
	now func() time.Time

	mu        sync.Mutex
	bySID     map[string][]connRef
	owner     map[connKey]string // connection -> sid
	nextSweep time.Time
}

func newConns(now func() time.Time) *conns {
	return &conns{now: now, bySID: map[string][]connRef{}, owner: map[connKey]string{}}
}

// add records that session sid opened connection c. It reports false when
// the index is full of live connections and c is not remembered.
func (x *conns) add(sid string, c connRef) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	now := x.now()
	kept := x.bySID[sid][:0:0]
	for _, o := range x.bySID[sid] {
		if o.until.After(now) && (o.server != c.server || o.cid != c.cid) {
			kept = append(kept, o)
		} else {
			delete(x.owner, connKey{o.server, o.cid})
		}
	}
	for len(kept) >= maxConnsPerSession {
		delete(x.owner, connKey{kept[0].server, kept[0].cid})
		kept = kept[1:]
	}
	x.setLocked(sid, kept)
	if len(x.owner) >= maxConns && now.After(x.nextSweep) {
		x.sweepLocked(now)
	}
	if len(x.owner) >= maxConns {
		return false
	}
	x.bySID[sid] = append(x.bySID[sid], c)
	x.owner[connKey{c.server, c.cid}] = sid
	return true
}

// setLocked stores sid's connections, dropping the entry when none is left.
func (x *conns) setLocked(sid string, cs []connRef) {
	if len(cs) == 0 {
		delete(x.bySID, sid)
		return
	}
	x.bySID[sid] = cs
}

// sweepLocked forgets every expired connection; at most once a second.
func (x *conns) sweepLocked(now time.Time) {
	x.nextSweep = now.Add(time.Second)
	for sid, cs := range x.bySID {
		kept := cs[:0]
		for _, c := range cs {
			if c.until.After(now) {
				kept = append(kept, c)
			} else {
				delete(x.owner, connKey{c.server, c.cid})
			}
		}
		x.setLocked(sid, kept)
	}
}

// remove forgets one connection (it ended, or its connect was refused
// after all).
func (x *conns) remove(server string, cid uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	k := connKey{server, cid}
	sid, ok := x.owner[k]
	if !ok {
		return
	}
	delete(x.owner, k)
	cs := x.bySID[sid]
	for i, c := range cs {
		if c.server == server && c.cid == cid {
			x.setLocked(sid, append(cs[:i:i], cs[i+1:]...))
			return
		}
	}
}

// take forgets and returns the live connections of sid.
func (x *conns) take(sid string) []connRef {
	x.mu.Lock()
	defer x.mu.Unlock()
	now := x.now()
	cs := x.bySID[sid]
	delete(x.bySID, sid)
	live := cs[:0:0]
	for _, c := range cs {
		delete(x.owner, connKey{c.server, c.cid})
		if c.until.After(now) {
			live = append(live, c)
		}
	}
	return live
}

// len reports the connections remembered.
func (x *conns) len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.owner)
}
