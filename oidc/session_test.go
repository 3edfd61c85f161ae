package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gatehouse/policy"
)

func newTestSessions(t *testing.T, hash, block [][]byte, clk *clock, rev revokedSet) *Sessions {
	t.Helper()
	s, err := NewSessions(SessionConfig{CookieName: "gatehouse", HashKeys: hash, BlockKeys: block,
		MaxAge: 12 * time.Hour, IdleTimeout: time.Hour}, false, rev, clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func reqWith(c *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if c != nil {
		r.AddCookie(c)
	}
	return r
}

func TestSessionCookie(t *testing.T) {
	h1, b1 := testKeys()
	h2, b2 := []byte(strings.Repeat("H", 32)), []byte(strings.Repeat("B", 32))
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	rev := revokedSet{}
	s := newTestSessions(t, [][]byte{h1}, [][]byte{b1}, clk, rev)
	id := policy.Identity{Subject: "auth0|42", Name: "Ada", Provider: "auth0", Roles: []string{"admin"}}
	sess := s.newSession(id, "idp-1", "id.token.here")
	c, err := s.Cookie(context.Background(), sess)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("no cookie", func(t *testing.T) {
		if _, _, ok, err := s.Identity(reqWith(nil)); ok || err != nil {
			t.Fatal(ok, err)
		}
	})
	t.Run("round trip", func(t *testing.T) {
		got, _, ok, err := s.Identity(reqWith(c))
		if !ok || err != nil || got.Subject != "auth0|42" || got.Roles[0] != "admin" || got.SessionID != sess.ID {
			t.Fatal(got, ok, err)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		v := []byte(c.Value)
		v[10] ^= 2
		if _, _, ok, err := s.Identity(reqWith(&http.Cookie{Name: c.Name, Value: string(v)})); !ok || !errors.Is(err, ErrInvalidSession) {
			t.Fatal(ok, err)
		}
	})
	t.Run("key rotation: old key still decodes, new key encodes", func(t *testing.T) {
		rotated := newTestSessions(t, [][]byte{h2, h1}, [][]byte{b2, b1}, clk, rev)
		if _, _, _, err := rotated.Identity(reqWith(c)); err != nil {
			t.Fatalf("old cookie refused after rotation: %v", err)
		}
		nc, err := rotated.Cookie(context.Background(), rotated.newSession(id, "", ""))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.Identity(reqWith(nc)); err == nil {
			t.Fatal("a cookie from the new key decoded with the old key only")
		}
		gone := newTestSessions(t, [][]byte{h2}, [][]byte{b2}, clk, rev)
		if _, _, _, err := gone.Identity(reqWith(c)); err == nil {
			t.Fatal("a retired key still decodes")
		}
	})
	t.Run("revoked", func(t *testing.T) {
		rev[sess.ID] = true
		defer delete(rev, sess.ID)
		if _, _, _, err := s.Identity(reqWith(c)); !errors.Is(err, ErrInvalidSession) {
			t.Fatal(err)
		}
	})
	t.Run("revoked through the provider's sid", func(t *testing.T) {
		rev[idpSessionKey("auth0", "idp-1")] = true
		defer delete(rev, idpSessionKey("auth0", "idp-1"))
		if _, _, _, err := s.Identity(reqWith(c)); !errors.Is(err, ErrInvalidSession) {
			t.Fatal(err)
		}
	})
	t.Run("idle, slide keeps it alive", func(t *testing.T) {
		start := clk.Now()
		defer func() { clk.t = start }()
		clk.Add(20 * time.Minute)
		if s.Slide(reqWith(c)) == nil {
			t.Fatal("not re-issued after a quarter of the idle timeout")
		}
		slid := s.Slide(reqWith(c))
		clk.Add(50 * time.Minute) // 70 min after issue, 50 after the slide
		if _, _, _, err := s.Identity(reqWith(c)); !errors.Is(err, ErrInvalidSession) {
			t.Fatalf("idle session accepted: %v", err)
		}
		if _, _, _, err := s.Identity(reqWith(slid)); err != nil {
			t.Fatalf("slid session refused: %v", err)
		}
	})
	t.Run("absolute expiry", func(t *testing.T) {
		start := clk.Now()
		defer func() { clk.t = start }()
		cur := c
		for range 14 { // keep it from idling, past max_age
			clk.Add(55 * time.Minute)
			if n := s.Slide(reqWith(cur)); n != nil {
				cur = n
			}
		}
		if _, _, _, err := s.Identity(reqWith(cur)); !errors.Is(err, ErrInvalidSession) {
			t.Fatalf("session past max_age accepted: %v", err)
		}
	})
}

func TestOversizedSessionSpills(t *testing.T) {
	h, b := testKeys()
	clk := &clock{t: time.Now()}
	s := newTestSessions(t, [][]byte{h}, [][]byte{b}, clk, revokedSet{})
	roles := make([]string, 300)
	for i := range roles {
		roles[i] = "role-with-a-long-name-" + strings.Repeat("x", 10) + string(rune('a'+i%26))
	}
	claims := map[string]any{"https://example.com/tenant": strings.Repeat("t", 1500)}
	id := policy.Identity{Subject: "big", Provider: "p", Roles: roles, Claims: claims}
	sess := s.newSession(id, "", strings.Repeat("j", 2000))
	c, err := s.Cookie(context.Background(), sess)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Name)+len(c.Value) > maxCookieBytes || !sess.Spilled {
		t.Fatalf("cookie %d bytes, spilled %v", len(c.Value), sess.Spilled)
	}
	got, err := s.Decode(context.Background(), c.Value)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Roles) != 300 || got.IDToken != sess.IDToken || got.Claims["https://example.com/tenant"] != claims["https://example.com/tenant"] {
		t.Fatal("spilled parts lost")
	}
	// A small session stays entirely in its cookie.
	small := s.newSession(policy.Identity{Subject: "s", Provider: "p"}, "", "")
	if _, err := s.Cookie(context.Background(), small); err != nil || small.Spilled {
		t.Fatal(err, small.Spilled)
	}
	// If the server-side part is gone the session is refused, not shrunk.
	s.Forget(context.Background(), sess.ID)
	if _, err := s.Decode(context.Background(), c.Value); !errors.Is(err, ErrInvalidSession) {
		t.Fatalf("session without its server-side part: %v", err)
	}
}

func TestMemoryStoreBounded(t *testing.T) {
	clk := &clock{t: time.Now()}
	m := NewMemoryStore(3, clk.Now)
	ctx := context.Background()
	for i, sid := range []string{"a", "b", "c", "d"} {
		_ = m.Put(ctx, sid, []byte(sid), clk.Now().Add(time.Duration(i+1)*time.Hour))
	}
	if m.Len() != 3 {
		t.Fatalf("len %d", m.Len())
	}
	if _, ok, _ := m.Get(ctx, "a"); ok {
		t.Fatal("the soonest-expiring entry was not the one evicted")
	}
	if _, ok, _ := m.Get(ctx, "d"); !ok {
		t.Fatal("newest entry missing")
	}
}

func FuzzSessionDecode(f *testing.F) {
	h, b := testKeys()
	clk := &clock{t: time.Now()}
	s, _ := NewSessions(SessionConfig{CookieName: "gatehouse", HashKeys: [][]byte{h}, BlockKeys: [][]byte{b},
		MaxAge: time.Hour, IdleTimeout: time.Hour}, false, revokedSet{}, clk.Now, nil)
	c, _ := s.Cookie(context.Background(), s.newSession(policy.Identity{Subject: "x", Provider: "p"}, "", ""))
	f.Add(c.Value)
	f.Add("")
	f.Add("MTc5NTI2MjYyNXxCOW40dHdzYjAtaWVu")
	f.Fuzz(func(t *testing.T, v string) {
		sess, err := s.Decode(context.Background(), v)
		// Only values we encoded decode (every one we encode is for "x").
		if err == nil && (sess.Subject != "x" || sess.Provider != "p") {
			t.Fatalf("forged value decoded: %+v", sess)
		}
	})
}
