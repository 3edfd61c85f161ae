package forwardauth

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"gatehouse/authn"
	"gatehouse/internal/httpx"
	"gatehouse/issuer"
)

// Paths of the endpoints.
const (
	VerifyPath = "/auth/verify"
	NchanPath  = "/webhooks/nchan"
)

// Response headers of a verified request (oauth2-proxy's names, which
// nginx recipes copy with auth_request_set).
const (
	HeaderUser     = "X-Auth-Request-User"
	HeaderEmail    = "X-Auth-Request-Email"
	HeaderGroups   = "X-Auth-Request-Groups"
	HeaderRoles    = "X-Auth-Request-Roles"
	HeaderToken    = "X-Auth-Request-Access-Token"
	HeaderRedirect = "X-Auth-Request-Redirect"
)

// Minter mints a realtime token for a verified caller (PassToken).
type Minter interface {
	Mint(profile string, req issuer.Request) (issuer.Token, error)
}

// Config configures the endpoints.
type Config struct {
	// PublicURL is Gatehouse's public origin: 401 answers name the login
	// URL under it in X-Auth-Request-Redirect.
	PublicURL string
	// PassToken adds a fresh realtime token for the caller to a verified
	// answer (X-Auth-Request-Access-Token), for the upstream.
	PassToken bool
	// Anonymous lets a credential-less Nchan request act with the
	// anonymous grants.
	Anonymous bool
}

// Metrics counts broker auth decisions.
type Metrics interface {
	Decision(front, decision string)
}

// Front answers forward-auth and Nchan subrequests.
type Front struct {
	cfg     Config
	resolve *authn.Resolver
	mint    Minter
	metrics Metrics
	log     *slog.Logger
}

// New builds the front; mint may be nil without PassToken.
func New(cfg Config, res *authn.Resolver, mint Minter, m Metrics, log *slog.Logger) (*Front, error) {
	if res == nil || m == nil || log == nil {
		return nil, errors.New("forwardauth: needs a resolver, metrics and a logger")
	}
	if cfg.PassToken && mint == nil {
		return nil, errors.New("forwardauth: pass_token needs a token issuer")
	}
	return &Front{cfg: cfg, resolve: res, mint: mint, metrics: m, log: log}, nil
}

// Routes returns the endpoints.
func (f *Front) Routes() []httpx.Route {
	return []httpx.Route{
		{Method: http.MethodGet, Pattern: VerifyPath, Handler: f.verify},
		{Method: http.MethodHead, Pattern: VerifyPath, Handler: f.verify},
		{Method: http.MethodGet, Pattern: NchanPath, Handler: f.nchan},
		{Method: http.MethodPost, Pattern: NchanPath, Handler: f.nchan},
	}
}

// verify answers 2xx with the identity headers when the forwarded cookie
// or Bearer token is good (and, with ?allowed_roles= / ?allowed_groups=,
// the caller has one of them: 403 otherwise); 401 with the login URL in
// X-Auth-Request-Redirect otherwise.
func (f *Front) verify(w http.ResponseWriter, r *http.Request, _ string) {
	caller, err := f.resolve.Request(r, false)
	if err != nil {
		f.metrics.Decision("forwardauth", "deny")
		f.log.DebugContext(r.Context(), "forward auth: no valid credential", "err", err)
		if login := f.loginURL(r); login != "" {
			w.Header().Set(HeaderRedirect, login)
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		httpx.WriteError(w, http.StatusUnauthorized, httpx.CodeInvalidToken, "login required")
		return
	}
	id := caller.Identity
	q := r.URL.Query()
	if !anyOf(q.Get("allowed_roles"), id.Roles) || !anyOf(q.Get("allowed_groups"), id.Groups) {
		f.metrics.Decision("forwardauth", "deny")
		f.log.InfoContext(r.Context(), "forward auth: role or group missing", "sub", id.Subject,
			"allowed_roles", q.Get("allowed_roles"), "allowed_groups", q.Get("allowed_groups"))
		httpx.WriteError(w, http.StatusForbidden, httpx.CodeAccessDenied, "not allowed")
		return
	}
	h := w.Header()
	h.Set(HeaderUser, id.Subject)
	if id.Email != "" {
		h.Set(HeaderEmail, id.Email)
	}
	h.Set(HeaderGroups, strings.Join(id.Groups, ","))
	h.Set(HeaderRoles, strings.Join(id.Roles, ","))
	if f.cfg.PassToken {
		tok, err := f.mint.Mint("", issuer.Request{Identity: id, Grants: caller.Grants, End: caller.ExpiresAt})
		if err != nil {
			f.log.WarnContext(r.Context(), "forward auth: token for the upstream", "err", err)
		} else {
			h.Set(HeaderToken, tok.Value)
		}
	}
	f.metrics.Decision("forwardauth", "allow")
	w.WriteHeader(http.StatusOK)
}

// anyOf reports whether the comma-separated list is empty or shares an
// entry with have.
func anyOf(list string, have []string) bool {
	if strings.TrimSpace(list) == "" {
		return true
	}
	for _, want := range strings.Split(list, ",") {
		if slices.Contains(have, strings.TrimSpace(want)) {
			return true
		}
	}
	return false
}

// loginURL is Gatehouse's login page (the provider choice) with the
// original request as return_to
// (X-Original-URL, or the scheme, host and X-Original-URI nginx forwards).
// The login endpoint checks return_to against its allow-list as always; a
// header that is not an absolute http(s) URL gives no return_to.
func (f *Front) loginURL(r *http.Request) string {
	if f.cfg.PublicURL == "" {
		return ""
	}
	orig := r.Header.Get("X-Original-URL")
	if orig == "" {
		if uri, host := r.Header.Get("X-Original-URI"), r.Header.Get("X-Forwarded-Host"); uri != "" && host != "" {
			proto := r.Header.Get("X-Forwarded-Proto")
			if proto != "https" {
				proto = "http"
			}
			orig = proto + "://" + host + uri
		}
	}
	login := f.cfg.PublicURL + "/login"
	if u, err := url.Parse(orig); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(orig, "\r\n") {
		login += "?return_to=" + url.QueryEscape(u.String())
	}
	return login
}
