package nats

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestConnsAddTakeRemove(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	x := newConns(func() time.Time { return now })
	until := now.Add(time.Minute)
	x.add("s1", connRef{"NA", 1, until})
	x.add("s1", connRef{"NB", 1, until}) // same cid, another server
	x.add("s2", connRef{"NA", 2, until})
	x.add("s1", connRef{"NA", 3, now.Add(time.Second)})
	x.remove("NA", 2) // s2's connection ended
	x.remove("NZ", 9) // unknown: nothing
	if got := x.len(); got != 3 {
		t.Fatalf("len = %d, want 3", got)
	}
	now = now.Add(2 * time.Second) // NA/3's JWT has expired
	got := x.take("s1")
	if len(got) != 2 || got[0].server != "NA" || got[0].cid != 1 || got[1].server != "NB" {
		t.Fatalf("take(s1) = %+v", got)
	}
	if x.len() != 0 || len(x.take("s1")) != 0 || len(x.take("s2")) != 0 {
		t.Fatalf("index not empty: %d", x.len())
	}
}

func TestConnsBounds(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	x := newConns(func() time.Time { return now })
	until := now.Add(time.Minute)
	for i := range maxConnsPerSession + 5 {
		x.add("busy", connRef{"NA", uint64(i), until})
	}
	got := x.take("busy")
	if len(got) != maxConnsPerSession || got[0].cid != 5 {
		t.Fatalf("one session keeps its last %d: got %d from cid %d", maxConnsPerSession, len(got), got[0].cid)
	}

	short := now.Add(time.Second)
	for i := range maxConns {
		if !x.add(fmt.Sprint("s", i), connRef{"NA", uint64(i), short}) {
			t.Fatalf("refused at %d", i)
		}
	}
	if x.add("late", connRef{"NA", 1 << 40, until}) {
		t.Fatal("a full index of live connections took one more")
	}
	now = now.Add(2 * time.Second) // all expired: the next add sweeps them
	if !x.add("late", connRef{"NA", 1 << 40, until}) || x.len() != 1 {
		t.Fatalf("after expiry: len %d", x.len())
	}
}

func TestKickAnswer(t *testing.T) {
	for _, tc := range []struct {
		body string
		want error // nil, errKickGone, or errAny
	}{
		{`{"server":{"id":"NA"}}`, nil},
		{`{"server":{"id":"NA"},"error":{"code":500,"description":"no such client or leafnode id"}}`, errKickGone},
		{`{"server":{"id":"NA"},"error":{"code":400,"description":"bad request"}}`, errAny},
		{`not json`, errAny},
	} {
		err := kickAnswer([]byte(tc.body))
		switch {
		case tc.want == errAny && (err == nil || errors.Is(err, errKickGone)):
			t.Errorf("%s: err = %v, want a failure", tc.body, err)
		case tc.want != errAny && !errors.Is(err, tc.want):
			t.Errorf("%s: err = %v, want %v", tc.body, err, tc.want)
		}
	}
}

var errAny = errors.New("any failure")
