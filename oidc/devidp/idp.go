package devidp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/keys"
)

// Client is a relying party registered with the development provider.
type Client struct {
	// ID and Secret authenticate the client at the token endpoint
	// (client_secret_basic).
	ID     string
	Secret string
	// RedirectURIs are the exact redirect URIs accepted; their origins are
	// also the accepted post-logout redirect origins.
	RedirectURIs []string
}

// Config configures the provider.
type Config struct {
	// Issuer is the provider's issuer URL; its path prefixes every endpoint.
	Issuer string
	// Clients are the registered clients.
	Clients []Client
	// Roles are offered as checkboxes on the login page.
	Roles []string
	// TokenTTL is the lifetime of ID and access tokens (5m when 0).
	TokenTTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// FormActions are origins besides the provider's own that the login
	// form's redirect chain may end on (the relying party's allowed
	// return_to origins): browsers apply the page's CSP form-action to
	// every redirect after the form is posted.
	FormActions []string
}

const (
	codeTTL    = time.Minute
	maxEntries = 10000
)

//go:embed authorize.html
var pageHTML string

var page = template.Must(template.New("authorize").Parse(pageHTML))

var usernameRe = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// IDP is the development identity provider, an http.Handler serving the
// issuer's path.
type IDP struct {
	cfg  Config
	base string // issuer path, no trailing slash
	key  *keys.Key
	log  *slog.Logger
	mux  *http.ServeMux

	mu         sync.Mutex
	codes      map[string]grant
	access     map[string]grant
	formAction string // the CSP form-action sources
}

// grant is what a code or access token stands for.
type grant struct {
	client, redirect, challenge, nonce string
	user                               userInfo
	expires                            time.Time
}

type userInfo struct {
	Sub           string   `json:"sub"`
	Name          string   `json:"name"`
	Username      string   `json:"preferred_username"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	Roles         []string `json:"roles"`
	Groups        []string `json:"groups"`
	SID           string   `json:"-"`
}

// New validates cfg and generates the signing key.
func New(cfg Config, log *slog.Logger) (*IDP, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("devidp: issuer %q is not an http(s) URL", cfg.Issuer)
	}
	if len(cfg.Clients) == 0 {
		return nil, errors.New("devidp: at least one client is required")
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	k, err := keys.Generate(keys.ES256)
	if err != nil {
		return nil, fmt.Errorf("devidp: key: %w", err)
	}
	formAction := "'self'"
	for _, o := range cfg.FormActions {
		ou, err := url.Parse(o)
		if err != nil || ou.Host == "" || (ou.Scheme != "http" && ou.Scheme != "https") || strings.ContainsAny(o, " ;,'\"") {
			return nil, fmt.Errorf("devidp: form action %q is not an http(s) origin", o)
		}
		formAction += " " + ou.Scheme + "://" + ou.Host
	}
	i := &IDP{cfg: cfg, base: strings.TrimSuffix(u.Path, "/"), key: k, log: log, formAction: formAction,
		codes: map[string]grant{}, access: map[string]grant{}}
	m := http.NewServeMux()
	m.HandleFunc("GET "+i.base+"/.well-known/openid-configuration", i.discovery)
	m.HandleFunc("GET "+i.base+"/authorize", i.authorizePage)
	m.HandleFunc("POST "+i.base+"/authorize", i.authorizeSubmit)
	m.HandleFunc("POST "+i.base+"/token", i.token)
	m.HandleFunc("GET "+i.base+"/jwks", i.jwks)
	m.HandleFunc("GET "+i.base+"/userinfo", i.userinfo)
	m.HandleFunc("POST "+i.base+"/userinfo", i.userinfo)
	m.HandleFunc("GET "+i.base+"/logout", i.endSession)
	i.mux = m
	return i, nil
}

// Base returns the path every endpoint lives under ("/dev-idp").
func (i *IDP) Base() string { return i.base }

// ServeHTTP implements http.Handler.
func (i *IDP) ServeHTTP(w http.ResponseWriter, r *http.Request) { i.mux.ServeHTTP(w, r) }

func (i *IDP) discovery(w http.ResponseWriter, _ *http.Request) {
	iss := i.cfg.Issuer
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/token",
		"jwks_uri":                              iss + "/jwks",
		"userinfo_endpoint":                     iss + "/userinfo",
		"end_session_endpoint":                  iss + "/logout",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{keys.ES256},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic"},
		"scopes_supported":                      []string{"openid", "profile", "email"},
		"claims_supported":                      []string{"sub", "name", "preferred_username", "email", "email_verified", "roles", "groups", "sid"},
	})
}

func (i *IDP) jwks(w http.ResponseWriter, _ *http.Request) {
	j, _ := i.key.JWK()
	writeJSON(w, http.StatusOK, keys.JWKS{Keys: []keys.JWK{j}})
}

func (i *IDP) client(id string) (Client, bool) {
	for _, c := range i.cfg.Clients {
		if c.ID == id {
			return c, true
		}
	}
	return Client{}, false
}

// authParams are the authorize parameters carried through the form.
var authParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"}

// checkAuthorize validates an authorize request; a non-empty reason means
// it cannot even be answered by redirect.
func (i *IDP) checkAuthorize(v url.Values) string {
	c, ok := i.client(v.Get("client_id"))
	switch {
	case !ok:
		return "unknown client_id"
	case !slices.Contains(c.RedirectURIs, v.Get("redirect_uri")):
		return "redirect_uri is not registered for this client"
	case v.Get("response_type") != "code":
		return "only response_type=code is supported"
	case !slices.Contains(strings.Fields(v.Get("scope")), "openid"):
		return "scope must include openid"
	case v.Get("code_challenge") == "" || v.Get("code_challenge_method") != "S256":
		return "PKCE with S256 is required"
	}
	return ""
}

type pageData struct {
	Error  string
	Form   bool
	Action string
	CSRF   string
	Params map[string]string
	Roles  []string
}

func (i *IDP) render(w http.ResponseWriter, status int, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; form-action "+i.formAction+"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := page.Execute(w, d); err != nil {
		i.log.Warn("devidp: render", "err", err)
	}
}

func (i *IDP) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if reason := i.checkAuthorize(q); reason != "" {
		i.render(w, http.StatusBadRequest, pageData{Error: "Bad authorization request: " + reason})
		return
	}
	csrf := random()
	http.SetCookie(w, &http.Cookie{Name: "devidp_csrf", Value: csrf, Path: i.base + "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 600})
	params := map[string]string{}
	for _, k := range authParams {
		params[k] = q.Get(k)
	}
	i.render(w, http.StatusOK, pageData{Form: true, Action: i.base + "/authorize", CSRF: csrf, Params: params, Roles: i.cfg.Roles})
}

func (i *IDP) authorizeSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		i.render(w, http.StatusBadRequest, pageData{Error: "Bad form."})
		return
	}
	f := r.PostForm
	c, err := r.Cookie("devidp_csrf")
	if err != nil || f.Get("csrf") == "" || !hmac.Equal([]byte(c.Value), []byte(f.Get("csrf"))) {
		i.render(w, http.StatusForbidden, pageData{Error: "The form expired or was not sent from this page. Go back and try again."})
		return
	}
	if reason := i.checkAuthorize(f); reason != "" {
		i.render(w, http.StatusBadRequest, pageData{Error: "Bad authorization request: " + reason})
		return
	}
	name := f.Get("username")
	if !usernameRe.MatchString(name) {
		i.render(w, http.StatusBadRequest, pageData{Error: "A name is 1-64 letters, digits or ._@-"})
		return
	}
	var roles []string
	for _, role := range f["role"] {
		if slices.Contains(i.cfg.Roles, role) && !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
	}
	if roles == nil {
		roles = []string{}
	}
	code := random()
	i.store(i.codes, code, grant{
		client: f.Get("client_id"), redirect: f.Get("redirect_uri"), challenge: f.Get("code_challenge"),
		nonce: f.Get("nonce"), expires: i.cfg.Now().Add(codeTTL),
		user: userInfo{Sub: "dev|" + name, Name: name, Username: name, Email: name + "@dev.localhost",
			EmailVerified: true, Roles: roles, Groups: []string{}, SID: random()},
	})
	u, _ := url.Parse(f.Get("redirect_uri"))
	q := u.Query()
	q.Set("code", code)
	if s := f.Get("state"); s != "" {
		q.Set("state", s)
	}
	q.Set("iss", i.cfg.Issuer)
	u.RawQuery = q.Encode()
	http.SetCookie(w, &http.Cookie{Name: "devidp_csrf", Value: "", Path: i.base + "/", MaxAge: -1})
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (i *IDP) store(m map[string]grant, k string, g grant) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(m) >= maxEntries {
		now := i.cfg.Now()
		for key, old := range m {
			if now.After(old.expires) {
				delete(m, key)
			}
		}
		for key := range m {
			if len(m) < maxEntries {
				break
			}
			delete(m, key)
		}
	}
	m[k] = g
}

// take returns and deletes the grant: codes are single-use.
func (i *IDP) take(k string) (grant, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	g, ok := i.codes[k]
	delete(i.codes, k)
	return g, ok && !i.cfg.Now().After(g.expires)
}

func (i *IDP) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	c, known := i.client(id)
	if !ok || !known || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="devidp"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	f := r.PostForm
	g, ok := i.take(f.Get("code"))
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	if !ok || g.client != c.ID || g.redirect != f.Get("redirect_uri") ||
		subtle.ConstantTimeCompare([]byte(challenge), []byte(g.challenge)) != 1 {
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	now := i.cfg.Now()
	exp := now.Add(i.cfg.TokenTTL)
	at := random()
	i.store(i.access, at, grant{client: c.ID, user: g.user, expires: exp})
	ath := sha256.Sum256([]byte(at))
	claims := jwt.MapClaims{
		"iss": i.cfg.Issuer, "sub": g.user.Sub, "aud": c.ID, "azp": c.ID,
		"iat": now.Unix(), "exp": exp.Unix(), "auth_time": now.Unix(),
		"sid": g.user.SID, "at_hash": base64.RawURLEncoding.EncodeToString(ath[:16]),
		"name": g.user.Name, "preferred_username": g.user.Username,
		"email": g.user.Email, "email_verified": true, "roles": g.user.Roles, "groups": g.user.Groups,
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["kid"] = i.key.KID
	idt, err := t.SignedString(i.key.SigningKey())
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": at, "token_type": "Bearer", "expires_in": int(i.cfg.TokenTTL / time.Second),
		"id_token": idt, "scope": "openid profile email",
	})
}

func (i *IDP) userinfo(w http.ResponseWriter, r *http.Request) {
	at, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	i.mu.Lock()
	g, found := i.access[at]
	i.mu.Unlock()
	if !ok || !found || i.cfg.Now().After(g.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_token")
		return
	}
	writeJSON(w, http.StatusOK, g.user)
}

// endSession is RP-initiated logout: the provider keeps no session of its
// own, so it only sends the browser back to an origin a client registered.
func (i *IDP) endSession(w http.ResponseWriter, r *http.Request) {
	target := r.URL.Query().Get("post_logout_redirect_uri")
	if target != "" && i.allowedPostLogout(target) {
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	i.render(w, http.StatusOK, pageData{Error: "You are logged out of the development identity provider."})
}

func (i *IDP) allowedPostLogout(target string) bool {
	t, err := url.Parse(target)
	if err != nil || t.Host == "" {
		return false
	}
	for _, c := range i.cfg.Clients {
		for _, ru := range c.RedirectURIs {
			if u, err := url.Parse(ru); err == nil && u.Scheme == t.Scheme && u.Host == t.Host {
				return true
			}
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

func random() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
