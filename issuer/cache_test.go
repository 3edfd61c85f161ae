package issuer

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gatehouse/policy"
	"gatehouse/revocation"
)

// cachedIssuer returns an issuer with a cache (none when size < 0), a
// movable clock, and the revocation check revoked (nil: none).
func cachedIssuer(t testing.TB, size int, revoked revocation.Checker) (*Issuer, *time.Time, *Cache) {
	t.Helper()
	now := pfNow
	i := testIssuer(t)
	var c *Cache
	if size >= 0 {
		c = NewCache(size, func() time.Time { return now })
	}
	fresh, err := New(Config{Issuer: i.cfg.Issuer, Audience: i.cfg.Audience, Now: func() time.Time { return now },
		Cache: c, Revocations: revoked}, i.keys)
	if err != nil {
		t.Fatal(err)
	}
	return fresh, &now, c
}

func TestCacheAnswersRepeatedToken(t *testing.T) {
	i, _, c := cachedIssuer(t, 0, nil)
	tok, err := i.Mint("", Request{Identity: pfAda, Grants: pfGrants})
	if err != nil {
		t.Fatal(err)
	}
	first, err := i.Verify(tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	second, err := i.Verify(tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Error("second Verify of the same token did not come from the cache")
	}
	if c.Len() != 1 {
		t.Errorf("cache holds %d entries, want 1", c.Len())
	}
}

func TestCacheNeverAnswersOtherBytes(t *testing.T) {
	i, _, _ := cachedIssuer(t, 0, nil)
	tok, _ := i.Mint("", Request{Identity: pfAda, Grants: pfGrants})
	if _, err := i.Verify(tok.Value); err != nil {
		t.Fatal(err)
	}
	// Flip one signature byte: a different key, so a full check that fails.
	b := []byte(tok.Value)
	last := len(b) - 2
	b[last] ^= 0x01
	if _, err := i.Verify(string(b)); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("tampered token: err = %v", err)
	}
	// A failed token is never cached: asking again fails again.
	if _, err := i.Verify(string(b)); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("tampered token, second time: err = %v", err)
	}
}

func TestCacheHonoursRevocationOnHit(t *testing.T) {
	revoked := map[string]bool{}
	var mu sync.Mutex
	i, _, _ := cachedIssuer(t, 0, revocation.CheckerFunc(func(sid string) bool { mu.Lock(); defer mu.Unlock(); return revoked[sid] }))
	tok, _ := i.Mint("", Request{Identity: pfAda, Grants: pfGrants})
	if _, err := i.Verify(tok.Value); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	revoked["sid-1"] = true
	mu.Unlock()
	if _, err := i.Verify(tok.Value); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked sid answered from cache: err = %v", err)
	}
}

func TestCacheEntryDiesWithToken(t *testing.T) {
	i, now, _ := cachedIssuer(t, 0, nil)
	tok, _ := i.Mint("", Request{Identity: pfAda, Grants: pfGrants, TTL: time.Minute})
	if _, err := i.Verify(tok.Value); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		after time.Duration
		ok    bool
	}{
		{"before exp", 59 * time.Second, true},
		{"within leeway", time.Minute + Leeway, true},
		{"past leeway", time.Minute + Leeway + time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			*now = pfNow.Add(tc.after)
			_, err := i.Verify(tok.Value)
			if (err == nil) != tc.ok {
				t.Errorf("Verify after %s: err = %v, want ok=%v", tc.after, err, tc.ok)
			}
		})
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := NewCache(64, func() time.Time { return pfNow })
	until := pfNow.Add(time.Hour).Unix()
	for n := range 10_000 {
		k := keyOf(fmt.Sprint("token-", n))
		c.put(&k, &Claims{Subject: fmt.Sprint(n)}, until)
	}
	if n := c.Len(); n > 64+cacheShards {
		t.Errorf("cache holds %d entries, bound is about 64", n)
	}
	// Recently used entries survive a wave of new ones (CLOCK keeps them).
	hot := keyOf("hot")
	c.put(&hot, &Claims{Subject: "hot"}, until)
	for n := range 3 {
		if _, ok := c.get(&hot); !ok {
			t.Fatalf("hot entry lost after %d rounds", n)
		}
		k := keyOf(fmt.Sprint("cold-", n))
		c.put(&k, &Claims{}, until)
	}
}

func TestCacheConcurrent(t *testing.T) {
	i, _, _ := cachedIssuer(t, 128, nil)
	var toks []string
	for n := range 16 {
		tok, err := i.Mint("", Request{Identity: policy.Identity{Subject: fmt.Sprint("u", n)}, Grants: pfGrants})
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok.Value)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 200 {
				tok := toks[(g+n)%len(toks)]
				if _, err := i.Verify(tok); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkVerifyES256(b *testing.B) {
	for _, tc := range []struct {
		name  string
		cache bool
	}{{"uncached", false}, {"cached", true}} {
		b.Run(tc.name, func(b *testing.B) {
			size := 0
			if !tc.cache {
				size = -1
			}
			i, _, _ := cachedIssuer(b, size, nil)
			tok, _ := i.Mint("", Request{Identity: pfAda, Grants: pfGrants})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := i.Verify(tok.Value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
