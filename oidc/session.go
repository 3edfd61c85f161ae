package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"

	"gatehouse/policy"
	"gatehouse/revocation"
)

// maxCookieBytes is the most a session cookie's name and value may take;
// browsers keep 4096 bytes per cookie, attributes included.
const maxCookieBytes = 3800

// slideFraction: a session cookie is re-issued (sliding the idle timeout)
// once more than IdleTimeout/slideFraction passed since it was last issued.
const slideFraction = 4

// clockLeeway tolerates small clock differences between nodes.
const clockLeeway = 30 * time.Second

// SessionConfig configures session cookies.
type SessionConfig struct {
	// CookieName is the session cookie's name ("__Host-gatehouse" over https).
	CookieName string
	// HashKeys (32 or 64 bytes) and BlockKeys (32 bytes): the first of each
	// encodes, every combination decodes (key rotation).
	HashKeys  [][]byte
	BlockKeys [][]byte
	// MaxAge is the absolute session lifetime; IdleTimeout ends a session
	// not used for that long.
	MaxAge      time.Duration
	IdleTimeout time.Duration
	// Store keeps what does not fit in the cookie; nil means a MemoryStore.
	Store SpillStore
}

// Session is one login session as its cookie carries it.
type Session struct {
	ID       string `json:"sid"`
	Subject  string `json:"sub"`
	Provider string `json:"p"`
	// IdPSession is the provider's `sid`, for back-channel logout.
	IdPSession string `json:"is,omitempty"`
	Created    int64  `json:"ct"`
	Expires    int64  `json:"ex"`
	Seen       int64  `json:"st"`
	// Spilled is true when the bulk below lives in the SpillStore.
	Spilled bool `json:"sp,omitempty"`
	sessionBulk
}

// sessionBulk is the part of a session that moves server-side when the
// cookie would not fit.
type sessionBulk struct {
	Name    string         `json:"n,omitempty"`
	Email   string         `json:"e,omitempty"`
	Roles   []string       `json:"r,omitempty"`
	Groups  []string       `json:"g,omitempty"`
	Claims  map[string]any `json:"c,omitempty"`
	IDToken string         `json:"it,omitempty"`
}

// Identity returns the session's identity.
func (s *Session) Identity() policy.Identity {
	return policy.Identity{
		Subject: s.Subject, Name: s.Name, Email: s.Email, Provider: s.Provider,
		Roles: s.Roles, Groups: s.Groups, SessionID: s.ID, Claims: s.Claims,
	}.Normalize()
}

// ExpiresAt is the session's absolute end.
func (s *Session) ExpiresAt() time.Time { return time.Unix(s.Expires, 0) }

// Sessions encodes, decodes and checks session cookies. It implements the
// authn.SessionReader contract through Identity.
type Sessions struct {
	cfg     SessionConfig
	secure  bool
	codecs  []securecookie.Codec
	store   SpillStore
	revoked revocation.Checker
	now     func() time.Time
	log     *slog.Logger
}

// NewSessions validates cfg. secure sets the Secure attribute (public URL
// is https); revoked is asked on every decode (nil: nothing is revoked).
func NewSessions(cfg SessionConfig, secure bool, revoked revocation.Checker, now func() time.Time, log *slog.Logger) (*Sessions, error) {
	if cfg.CookieName == "" {
		return nil, errors.New("oidc: session cookie name is required")
	}
	if cfg.MaxAge <= 0 || cfg.IdleTimeout <= 0 {
		return nil, errors.New("oidc: session max_age and idle_timeout must be positive")
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	codecs, err := newCodecs(cfg.HashKeys, cfg.BlockKeys, cfg.MaxAge)
	if err != nil {
		return nil, err
	}
	store := cfg.Store
	if store == nil {
		store = NewMemoryStore(0, now)
	}
	return &Sessions{cfg: cfg, secure: secure, codecs: codecs, store: store, revoked: revoked, now: now, log: log}, nil
}

// newCodecs pairs every hash key with every block key, the first two first:
// the first codec encodes, all decode.
func newCodecs(hash, block [][]byte, maxAge time.Duration) ([]securecookie.Codec, error) {
	if len(hash) == 0 || len(block) == 0 {
		return nil, errors.New("oidc: session hash and block keys are required")
	}
	var pairs [][]byte
	for _, h := range hash {
		if len(h) != 32 && len(h) != 64 {
			return nil, errors.New("oidc: session hash keys must be 32 or 64 bytes")
		}
		for _, b := range block {
			if len(b) != 32 {
				return nil, errors.New("oidc: session block keys must be 32 bytes")
			}
			pairs = append(pairs, h, b)
		}
	}
	codecs := securecookie.CodecsFromPairs(pairs...)
	for _, c := range codecs {
		sc := c.(*securecookie.SecureCookie)
		sc.MaxAge(int(maxAge / time.Second))
		sc.MaxLength(8192)
		sc.SetSerializer(securecookie.JSONEncoder{})
	}
	return codecs, nil
}

// Identity implements authn.SessionReader: no cookie gives ok=false; a
// present cookie that is tampered, expired, idle, revoked or whose
// server-side part is gone gives an error wrapping ErrInvalidSession.
func (s *Sessions) Identity(r *http.Request) (policy.Identity, time.Time, bool, error) {
	sess, ok, err := s.Load(r)
	if !ok || err != nil {
		return policy.Identity{}, time.Time{}, ok, err
	}
	return sess.Identity(), sess.ExpiresAt(), true, nil
}

// Load decodes and checks the session cookie of r (see Identity).
func (s *Sessions) Load(r *http.Request) (*Session, bool, error) {
	c, err := r.Cookie(s.cfg.CookieName)
	if err != nil || c.Value == "" {
		return nil, false, nil
	}
	sess, err := s.Decode(r.Context(), c.Value)
	return sess, true, err
}

// Decode checks one session cookie value.
func (s *Sessions) Decode(ctx context.Context, value string) (*Session, error) {
	sess := new(Session)
	if err := securecookie.DecodeMulti(s.cfg.CookieName, value, sess, s.codecs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSession, err)
	}
	now := s.now()
	switch {
	case sess.ID == "" || sess.Subject == "" || sess.Provider == "":
		return nil, fmt.Errorf("%w: incomplete", ErrInvalidSession)
	case now.Unix() >= sess.Expires:
		return nil, fmt.Errorf("%w: expired", ErrInvalidSession)
	case now.Sub(time.Unix(sess.Seen, 0)) > s.cfg.IdleTimeout:
		return nil, fmt.Errorf("%w: idle", ErrInvalidSession)
	case time.Unix(sess.Seen, 0).After(now.Add(clockLeeway)):
		return nil, fmt.Errorf("%w: from the future", ErrInvalidSession)
	}
	if s.revoked != nil && (s.revoked.Revoked(sess.ID) ||
		(sess.IdPSession != "" && s.revoked.Revoked(idpSessionKey(sess.Provider, sess.IdPSession)))) {
		return nil, fmt.Errorf("%w: revoked", ErrInvalidSession)
	}
	if sess.Spilled {
		data, ok, err := s.store.Get(ctx, sess.ID)
		if err != nil {
			return nil, fmt.Errorf("%w: spill store: %w", ErrInvalidSession, err)
		}
		if !ok {
			return nil, fmt.Errorf("%w: server-side part gone", ErrInvalidSession)
		}
		if err := json.Unmarshal(data, &sess.sessionBulk); err != nil {
			return nil, fmt.Errorf("%w: spill store: %w", ErrInvalidSession, err)
		}
	}
	return sess, nil
}

// ErrSessionTooLarge is returned when even the slim cookie would not fit.
var ErrSessionTooLarge = errors.New("oidc: session too large for a cookie")

// Cookie encodes sess (marking it seen now) as a Set-Cookie value. When the
// whole session would not fit in a cookie, its bulk goes to the SpillStore
// and the cookie keeps only what identifies it.
func (s *Sessions) Cookie(ctx context.Context, sess *Session) (*http.Cookie, error) {
	sess.Seen = s.now().Unix()
	full := *sess
	full.Spilled = false
	v, err := securecookie.EncodeMulti(s.cfg.CookieName, &full, s.codecs...)
	if err == nil && len(s.cfg.CookieName)+len(v) <= maxCookieBytes {
		sess.Spilled = false
		return s.cookie(v, sess.ExpiresAt()), nil
	}
	bulk, err := json.Marshal(sess.sessionBulk)
	if err != nil {
		return nil, fmt.Errorf("oidc: session: %w", err)
	}
	if err := s.store.Put(ctx, sess.ID, bulk, sess.ExpiresAt()); err != nil {
		return nil, fmt.Errorf("oidc: session spill: %w", err)
	}
	slim := Session{ID: sess.ID, Subject: sess.Subject, Provider: sess.Provider, IdPSession: sess.IdPSession,
		Created: sess.Created, Expires: sess.Expires, Seen: sess.Seen, Spilled: true}
	v, err = securecookie.EncodeMulti(s.cfg.CookieName, &slim, s.codecs...)
	if err != nil {
		return nil, fmt.Errorf("oidc: session encode: %w", err)
	}
	if len(s.cfg.CookieName)+len(v) > maxCookieBytes {
		_ = s.store.Delete(ctx, sess.ID)
		return nil, ErrSessionTooLarge
	}
	sess.Spilled = true
	s.log.InfoContext(ctx, "session kept server-side", "sid", sess.ID, "bytes", len(bulk))
	return s.cookie(v, sess.ExpiresAt()), nil
}

func (s *Sessions) cookie(value string, expires time.Time) *http.Cookie {
	maxAge := int(expires.Sub(s.now()) / time.Second)
	if maxAge <= 0 {
		maxAge = -1
	}
	return &http.Cookie{
		Name: s.cfg.CookieName, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	}
}

// ClearCookie returns a Set-Cookie that deletes the session cookie.
func (s *Sessions) ClearCookie() *http.Cookie {
	return &http.Cookie{
		Name: s.cfg.CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	}
}

// Slide returns a re-issued session cookie when r carries a valid session
// last issued more than a fraction of the idle timeout ago, so that use
// keeps a session alive; nil otherwise.
func (s *Sessions) Slide(r *http.Request) *http.Cookie {
	sess, ok, err := s.Load(r)
	if !ok || err != nil {
		return nil
	}
	if s.now().Sub(time.Unix(sess.Seen, 0)) <= s.cfg.IdleTimeout/slideFraction {
		return nil
	}
	c, err := s.Cookie(r.Context(), sess)
	if err != nil {
		s.log.WarnContext(r.Context(), "session slide failed", "err", err)
		return nil
	}
	return c
}

// Forget drops the server-side part of a session.
func (s *Sessions) Forget(ctx context.Context, sid string) {
	if err := s.store.Delete(ctx, sid); err != nil {
		s.log.WarnContext(ctx, "spill store delete failed", "err", err)
	}
}

// newSession starts a session for id at now.
func (s *Sessions) newSession(id policy.Identity, idpSID, idToken string) *Session {
	now := s.now()
	return &Session{
		ID: randomID(), Subject: id.Subject, Provider: id.Provider, IdPSession: idpSID,
		Created: now.Unix(), Expires: now.Add(s.cfg.MaxAge).Unix(), Seen: now.Unix(),
		sessionBulk: sessionBulk{Name: id.Name, Email: id.Email, Roles: id.Roles, Groups: id.Groups,
			Claims: id.Claims, IDToken: idToken},
	}
}

// idpSessionKey is the revocation-list key of a provider's session id, so
// that a back-channel logout holds even for cookies whose sid mapping this
// node no longer remembers.
func idpSessionKey(provider, idpSID string) string { return "idp:" + provider + ":" + idpSID }

// randomID returns 128 random bits, base64url encoded.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
