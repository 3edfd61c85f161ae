package rabbitmq

import (
	"context"
	"slices"
	"sync"
	"time"

	"gatehouse/policy"
)

// Users keeps what user checks verified, by RabbitMQ user name, for the
// checks that follow (vhost, resource, topic), which carry no password:
// in this process (NewMemoryUsers), or in Redis for every node of a
// deployment (realtime/redis.RabbitUsers), so that RabbitMQ may ask any
// node.
type Users interface {
	// Put records a verification of name, with session sid, until until.
	// When name holds a live record, the grants kept are the intersection
	// of both and the end the earlier one: a second connection with the
	// same user name never widens the first one's.
	Put(ctx context.Context, name string, grants policy.Grants, sid string, until time.Time) error
	// Get returns name's live record's grants; ok is false when there is
	// none.
	Get(ctx context.Context, name string) (grants policy.Grants, ok bool, err error)
	// DropSession forgets the users whose live record any verification
	// with session sid went into, and returns their names: a logout closes
	// every connection that may be the session's (another session's under
	// the same name logs in again with its own token). Of several nodes
	// dropping the same session at once, each name is returned to one.
	DropSession(ctx context.Context, sid string) ([]string, error)
}

// MaxSessionsPerUser bounds the session ids one user record remembers;
// past it a Put replaces the record's oldest id (the record's grants stay
// the intersection, so nothing widens).
const MaxSessionsPerUser = 64

// AddSession returns sids with sid added (once, the oldest dropped past
// MaxSessionsPerUser); "" is no session.
func AddSession(sids []string, sid string) []string {
	if sid == "" || slices.Contains(sids, sid) {
		return sids
	}
	if len(sids) >= MaxSessionsPerUser {
		sids = sids[len(sids)-MaxSessionsPerUser+1:]
	}
	return append(sids, sid)
}

// maxUsers bounds the in-memory table; the entry closest to its expiry
// goes first when it is full.
const maxUsers = 100_000

// record is what a user check verified.
type record struct {
	grants policy.Grants
	sids   []string
	until  time.Time
}

// MemoryUsers keeps verified users in this process.
type MemoryUsers struct {
	mu  sync.Mutex
	m   map[string]record
	now func() time.Time
}

// NewMemoryUsers returns an empty table (now: the clock, nil for
// time.Now).
func NewMemoryUsers(now func() time.Time) *MemoryUsers {
	if now == nil {
		now = time.Now
	}
	return &MemoryUsers{m: map[string]record{}, now: now}
}

// Put implements Users.
func (u *MemoryUsers) Put(_ context.Context, name string, grants policy.Grants, sid string, until time.Time) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	r := record{grants: grants, sids: AddSession(nil, sid), until: until}
	now := u.now()
	if old, ok := u.m[name]; ok && old.until.After(now) {
		r.grants = old.grants.Narrow(r.grants)
		r.sids = AddSession(slices.Clone(old.sids), sid)
		if old.until.Before(r.until) {
			r.until = old.until
		}
	} else if len(u.m) >= maxUsers {
		u.evict(now)
	}
	u.m[name] = r
	return nil
}

func (u *MemoryUsers) evict(now time.Time) {
	var first string
	var at time.Time
	for k, r := range u.m {
		if !r.until.After(now) {
			delete(u.m, k)
			return
		}
		if first == "" || r.until.Before(at) {
			first, at = k, r.until
		}
	}
	delete(u.m, first)
}

// Get implements Users.
func (u *MemoryUsers) Get(_ context.Context, name string) (policy.Grants, bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	r, ok := u.m[name]
	if !ok || !r.until.After(u.now()) {
		return policy.Grants{}, false, nil
	}
	return r.grants, true, nil
}

// DropSession implements Users.
func (u *MemoryUsers) DropSession(_ context.Context, sid string) ([]string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var names []string
	for k, r := range u.m {
		if slices.Contains(r.sids, sid) {
			names = append(names, k)
			delete(u.m, k)
		}
	}
	return names, nil
}
