package rabbitmq

import (
	"sync"
	"time"

	"gatehouse/policy"
)

// maxUsers bounds the verified-user table; the entry closest to its expiry
// goes first when it is full.
const maxUsers = 100_000

// record is what a user check verified.
type record struct {
	grants policy.Grants
	sid    string
	until  time.Time
}

// users keeps verified users by RabbitMQ user name.
type users struct {
	mu  sync.Mutex
	m   map[string]record
	now func() time.Time
}

func newUsers(now func() time.Time) *users {
	return &users{m: map[string]record{}, now: now}
}

// put records a verification of name. When name already holds a live
// record, the grants kept are the intersection of both: a second
// connection with the same user name never widens the first one's.
func (u *users) put(name string, r record) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.now()
	if old, ok := u.m[name]; ok && old.until.After(now) {
		r.grants = old.grants.Narrow(r.grants)
		if old.until.Before(r.until) {
			r.until = old.until
		}
	} else if len(u.m) >= maxUsers {
		u.evict(now)
	}
	u.m[name] = r
}

func (u *users) evict(now time.Time) {
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

// get returns name's live record.
func (u *users) get(name string) (record, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	r, ok := u.m[name]
	if !ok || !r.until.After(u.now()) {
		return record{}, false
	}
	return r, true
}

// dropSession forgets the users verified with session sid and returns
// their names.
func (u *users) dropSession(sid string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var names []string
	for k, r := range u.m {
		if r.sid == sid {
			names = append(names, k)
			delete(u.m, k)
		}
	}
	return names
}
