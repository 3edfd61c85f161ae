// Package oidctest is an OpenID provider on httptest for tests of the
// relying party and of the handlers that use it. Every knob makes it
// misbehave in one way: wrong claims, other keys, rotated keys, a lying
// UserInfo.
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Client credentials the provider accepts.
const (
	ClientID     = "rp-client"
	ClientSecret = "rp-secret"
)

// Provider is a test OpenID provider.
type Provider struct {
	// Server serves discovery, jwks, token, userinfo and end_session.
	Server *httptest.Server
	// Issuer is Server.URL.
	Issuer string

	mu sync.Mutex
	// Claims are the ID token's claims before Mutate (sub "alice" etc.).
	Claims map[string]any
	// Mutate, when set, edits the ID token claims just before signing.
	Mutate func(claims map[string]any)
	// SignNone signs ID tokens with alg none.
	SignNone bool
	// SignWithOther signs with a key that is not published (same kid).
	SignWithOther bool
	// UserInfoSub overrides the sub UserInfo answers.
	UserInfoSub string
	// UserInfoExtra adds claims to UserInfo.
	UserInfoExtra map[string]any
	// NoEndSession drops end_session_endpoint from discovery.
	NoEndSession bool
	// Down makes every endpoint answer 503.
	Down bool
	// Now is the clock of issued tokens.
	Now func() time.Time

	key, other *ecdsa.PrivateKey
	kid        string
	rsaKey     *rsa.PrivateKey // published beside key once AddRSAKey ran; signs then
	rsaKID     string
	codes      map[string]code
	access     map[string]bool
	jwksHits   int
}

type code struct{ nonce, challenge string }

// New starts a provider; it stops when the test ends via t.Cleanup in the
// caller (call Close).
func New() *Provider {
	p := &Provider{
		Claims: map[string]any{"sub": "alice", "name": "Alice", "email": "alice@example.com", "email_verified": true,
			"roles": []any{"member"}, "groups": []any{"/org/team"}, "sid": "idp-sid-1"},
		Now:   time.Now,
		codes: map[string]code{}, access: map[string]bool{},
	}
	p.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.other, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.kid = "k1"
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("/jwks", p.jwks)
	mux.HandleFunc("/token", p.token)
	mux.HandleFunc("/userinfo", p.userinfo)
	p.Server = httptest.NewServer(p.guard(mux))
	p.Issuer = p.Server.URL
	return p
}

// Close stops the server.
func (p *Provider) Close() { p.Server.Close() }

// Lock runs f with the provider's knobs locked.
func (p *Provider) Lock(f func(p *Provider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *Provider) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		down := p.Down
		p.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Rotate replaces the signing key with a new one under a new kid.
func (p *Provider) Rotate(kid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.kid = kid
}

// AddRSAKey publishes an additional RS256 key under kid, beside the ES256
// key, and signs ID tokens with it from now on: a provider adding a key of
// another algorithm and switching to it at the same moment.
func (p *Provider) AddRSAKey(kid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	p.rsaKID = kid
}

// JWKSHits is how many times the JWKS was fetched.
func (p *Provider) JWKSHits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jwksHits
}

// IssueCode registers an authorization code as the authorize endpoint would
// have after a login with that nonce and PKCE challenge.
func (p *Provider) IssueCode(nonce, challenge string) string {
	c := random()
	p.mu.Lock()
	p.codes[c] = code{nonce: nonce, challenge: challenge}
	p.mu.Unlock()
	return c
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	noEnd := p.NoEndSession
	p.mu.Unlock()
	doc := map[string]any{
		"issuer": p.Issuer, "authorization_endpoint": p.Issuer + "/authorize", "token_endpoint": p.Issuer + "/token",
		"jwks_uri": p.Issuer + "/jwks", "userinfo_endpoint": p.Issuer + "/userinfo",
		"id_token_signing_alg_values_supported": []string{"ES256", "RS256", "none", "HS256"},
	}
	if !noEnd {
		doc["end_session_endpoint"] = p.Issuer + "/logout"
	}
	writeJSON(w, doc)
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	p.jwksHits++
	pub := p.key.PublicKey
	kid := p.kid
	rsaKey, rsaKID := p.rsaKey, p.rsaKID
	p.mu.Unlock()
	ecdh, _ := pub.ECDH()
	raw := ecdh.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	keys := []map[string]string{{
		"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
		"x": b64(raw[1:33]), "y": b64(raw[33:]),
	}}
	if rsaKey != nil {
		keys = append(keys, map[string]string{
			"kty": "RSA", "use": "sig", "alg": "RS256", "kid": rsaKID,
			"n": b64(rsaKey.N.Bytes()), "e": b64(big.NewInt(int64(rsaKey.E)).Bytes()),
		})
	}
	writeJSON(w, map[string]any{"keys": keys})
}

// Sign signs claims the way the provider currently signs ID tokens
// (honouring SignNone and SignWithOther).
func (p *Provider) Sign(claims map[string]any) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signLocked(claims, map[string]any{})
}

// SignWithHeader signs claims with extra header fields.
func (p *Provider) SignWithHeader(claims, header map[string]any) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signLocked(claims, header)
}

func (p *Provider) signLocked(claims map[string]any, header map[string]any) string {
	if p.SignNone {
		t := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(claims))
		t.Header["kid"] = p.kid
		s, _ := t.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}
	if p.rsaKey != nil && !p.SignWithOther {
		t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
		t.Header["kid"] = p.rsaKID
		for k, v := range header {
			t.Header[k] = v
		}
		s, _ := t.SignedString(p.rsaKey)
		return s
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims(claims))
	t.Header["kid"] = p.kid
	for k, v := range header {
		t.Header[k] = v
	}
	key := p.key
	if p.SignWithOther {
		key = p.other
	}
	s, _ := t.SignedString(key)
	return s
}

// IDTokenClaims returns the claims an ID token for nonce would carry now.
func (p *Provider) IDTokenClaims(nonce string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.Now()
	c := map[string]any{"iss": p.Issuer, "aud": ClientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	for k, v := range p.Claims {
		c[k] = v
	}
	if nonce != "" {
		c["nonce"] = nonce
	}
	if p.Mutate != nil {
		p.Mutate(c)
	}
	return c
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != ClientID || secret != ClientSecret {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]string{"error": "invalid_client"})
		return
	}
	_ = r.ParseForm()
	p.mu.Lock()
	c, found := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code"))
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !found || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"error": "invalid_grant"})
		return
	}
	at := random()
	p.mu.Lock()
	p.access[at] = true
	p.mu.Unlock()
	idt := p.Sign(p.IDTokenClaims(c.nonce))
	writeJSON(w, map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 300, "id_token": idt})
}

// AccessToken returns an opaque access token UserInfo accepts.
func (p *Provider) AccessToken() string {
	at := random()
	p.mu.Lock()
	p.access[at] = true
	p.mu.Unlock()
	return at
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	at := r.Header.Get("Authorization")
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(at) < 8 || !p.access[at[7:]] {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	out := map[string]any{}
	for k, v := range p.Claims {
		out[k] = v
	}
	if p.UserInfoSub != "" {
		out["sub"] = p.UserInfoSub
	}
	for k, v := range p.UserInfoExtra {
		out[k] = v
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func random() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// AllowAccess makes UserInfo accept at (e.g. a JWT access token).
func (p *Provider) AllowAccess(at string) {
	p.mu.Lock()
	p.access[at] = true
	p.mu.Unlock()
}
