package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"gatehouse/oidc"
	"gatehouse/revocation"
)

// benchSession is a session store with fixed keys, the Cookie header of
// one logged-in member's session (Ada, role member, group eng), and a
// securecookie codec with the same keys for a floor to decode it with.
func benchSession(b *testing.B) (*oidc.Sessions, string, *securecookie.SecureCookie) {
	b.Helper()
	hash, block := []byte(strings.Repeat("h", 32)), []byte(strings.Repeat("b", 32))
	sessions, err := oidc.NewSessions(oidc.SessionConfig{CookieName: "gatehouse", HashKeys: [][]byte{hash}, BlockKeys: [][]byte{block},
		MaxAge: 24 * time.Hour, IdleTimeout: 24 * time.Hour}, false, revocation.NewMemory(nil), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Unix()
	sess := &oidc.Session{ID: "sid-1", Subject: "auth0|42", Provider: "auth0", Created: now, Expires: now + 86400, Seen: now}
	sess.Name, sess.Email, sess.Roles, sess.Groups = "Ada", "ada@example.com", []string{"member"}, []string{"eng"}
	ck, err := sessions.Cookie(context.Background(), sess)
	if err != nil {
		b.Fatal(err)
	}
	codec := securecookie.New(hash, block)
	codec.SetSerializer(securecookie.JSONEncoder{})
	codec.MaxLength(8192)
	return sessions, ck.Name + "=" + ck.Value, codec
}
