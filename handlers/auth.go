package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/internal/httpx"
	"gatehouse/oidc"
	"gatehouse/web"
)

// DefaultReturnTo is where a login without return_to ends.
const DefaultReturnTo = "/account"

// LoggedOutPath is the page a logout without return_to ends on.
const LoggedOutPath = "/logged-out"

// Revoker revokes session ids: the process's revocation list
// (revocation.List), which every verifier asks and the realtime hub
// subscribes to, so a logout also closes the session's sockets.
type Revoker interface {
	Revoke(ctx context.Context, sid string, until time.Time) error
}

// AuthConfig configures the /auth routes.
type AuthConfig struct {
	// Revocations revoke the session ids of logouts.
	Revocations Revoker
}

// Auth serves /auth/login, /auth/callback, /auth/logout,
// /auth/backchannel-logout and /auth/me.
type Auth struct {
	cfg AuthConfig
	rp  *oidc.RP
	log *slog.Logger
}

// NewAuth validates its dependencies.
func NewAuth(cfg AuthConfig, rp *oidc.RP, log *slog.Logger) (*Auth, error) {
	if rp == nil || cfg.Revocations == nil {
		return nil, errors.New("handlers: auth needs a relying party and a revocation list")
	}
	return &Auth{cfg: cfg, rp: rp, log: log}, nil
}

// Mount adds the routes.
func (a *Auth) Mount(r gin.IRouter) {
	r.GET("/auth/login", a.login)
	r.GET("/auth/callback", a.callback)
	r.POST("/auth/logout", parseForm, a.logout)
	r.POST("/auth/backchannel-logout", parseForm, a.backchannel)
	r.GET("/auth/me", a.me)
}

func (a *Auth) login(c *gin.Context) {
	ctx := c.Request.Context()
	rt := c.Query("return_to")
	if rt == "" {
		rt = DefaultReturnTo
	}
	start, err := a.rp.BeginLogin(ctx, c.Query("provider"), rt)
	switch {
	case errors.Is(err, oidc.ErrUnknownProvider):
		renderError(c, http.StatusBadRequest, "Unknown identity provider", "There is no identity provider by that name.")
		return
	case errors.Is(err, oidc.ErrBadReturnTo):
		a.log.InfoContext(ctx, "login refused return_to", "err", err)
		renderError(c, http.StatusBadRequest, "Bad return address", "This login link points somewhere it may not send you.")
		return
	case errors.Is(err, oidc.ErrUnavailable):
		a.log.WarnContext(ctx, "login to unavailable provider", "err", err)
		c.Header("Retry-After", "5")
		renderError(c, http.StatusServiceUnavailable, "Identity provider unavailable",
			"We cannot reach this identity provider right now. We keep trying; please try again in a moment.")
		return
	case err != nil:
		a.log.ErrorContext(ctx, "login failed to start", "err", err)
		renderError(c, http.StatusInternalServerError, "Something went wrong", "The login could not be started.")
		return
	}
	http.SetCookie(c.Writer, start.Cookie)
	c.Redirect(http.StatusFound, start.URL)
}

func (a *Auth) callback(c *gin.Context) {
	ctx := c.Request.Context()
	res, err := a.rp.Callback(ctx, c.Request)
	for _, ck := range res.Cookies {
		http.SetCookie(c.Writer, ck)
	}
	if err != nil {
		a.log.WarnContext(ctx, "login callback refused", "err", err)
		if res.ProviderError != "" {
			renderError(c, http.StatusBadRequest, "Login cancelled",
				"The identity provider did not log you in. You can try again.")
			return
		}
		renderError(c, http.StatusBadRequest, "Login failed",
			"We could not complete your login. It may have expired or been used already; please start again.")
		return
	}
	a.log.InfoContext(ctx, "login", "provider", res.Session.Provider, "sub", res.Session.Subject, "sid", res.Session.ID)
	c.Redirect(http.StatusFound, res.ReturnTo)
}

func (a *Auth) logout(c *gin.Context) {
	ctx := c.Request.Context()
	if !sameOrigin(c.Request, a.rp.Origin()) {
		a.log.InfoContext(ctx, "logout refused: not same-origin", "origin", c.GetHeader("Origin"))
		abort(c, http.StatusForbidden, httpx.CodeAccessDenied, "cross-origin request refused")
		return
	}
	rt := c.PostForm("return_to")
	if rt == "" {
		rt = LoggedOutPath
	}
	res, err := a.rp.Logout(ctx, c.Request, rt)
	if err != nil {
		a.log.InfoContext(ctx, "logout refused return_to", "err", err)
		abort(c, http.StatusBadRequest, httpx.CodeInvalidRequest, "return_to not allowed")
		return
	}
	http.SetCookie(c.Writer, res.Cookie)
	if res.SessionID != "" {
		a.revoke(ctx, res.SessionID, res.Until)
		for _, k := range res.Logins {
			a.revoke(ctx, k, res.Until)
		}
		a.log.InfoContext(ctx, "logout", "sid", res.SessionID)
	}
	c.Redirect(http.StatusFound, res.Redirect)
}

func (a *Auth) backchannel(c *gin.Context) {
	ctx := c.Request.Context()
	raw := c.PostForm("logout_token")
	if raw == "" {
		abort(c, http.StatusBadRequest, httpx.CodeInvalidRequest, "logout_token is required")
		return
	}
	revs, err := a.rp.BackchannelLogout(ctx, raw)
	if err != nil {
		a.log.WarnContext(ctx, "back-channel logout refused", "err", err)
		abort(c, http.StatusBadRequest, httpx.CodeInvalidRequest, "invalid logout token")
		return
	}
	for _, r := range revs {
		a.revoke(ctx, r.SessionID, r.Until)
	}
	a.log.InfoContext(ctx, "back-channel logout", "sessions", len(revs))
	c.Status(http.StatusOK)
}

// revoke revokes sid; a failure is logged, never a reason to keep anyone
// logged in (the list refuses sid on this node whatever it answers).
func (a *Auth) revoke(ctx context.Context, sid string, until time.Time) {
	if err := a.cfg.Revocations.Revoke(ctx, sid, until); err != nil {
		a.log.WarnContext(ctx, "revoke session", "sid", sid, "err", err)
	}
}

// meResponse is the body of GET /auth/me (README, "Logging people in").
type meResponse struct {
	Sub       string   `json:"sub"`
	Name      string   `json:"name"`
	Email     string   `json:"email"`
	Roles     []string `json:"roles"`
	Groups    []string `json:"groups"`
	Provider  string   `json:"provider"`
	SID       string   `json:"sid"`
	ExpiresAt int64    `json:"expires_at"`
}

func (a *Auth) me(c *gin.Context) {
	s := a.rp.Sessions()
	id, exp, ok, err := s.Identity(c.Request)
	if err != nil {
		a.log.InfoContext(c.Request.Context(), "session refused", "err", err)
	}
	if !ok || err != nil {
		abort(c, http.StatusUnauthorized, httpx.CodeInvalidToken, "no valid session")
		return
	}
	if ck := s.Slide(c.Request); ck != nil {
		http.SetCookie(c.Writer, ck)
	}
	c.JSON(http.StatusOK, meResponse{
		Sub: id.Subject, Name: id.Name, Email: id.Email, Roles: id.Roles, Groups: id.Groups,
		Provider: id.Provider, SID: id.SessionID, ExpiresAt: exp.Unix(),
	})
}

// sameOrigin is the CSRF check of cookie-authenticated POSTs. Browsers that
// send Sec-Fetch-Site (a header pages cannot forge) are believed: it must
// say same-origin. Otherwise the Origin header must be ours. (A form POST
// from a page under Referrer-Policy: no-referrer carries `Origin: null`, so
// Origin alone would refuse our own logout button.)
func sameOrigin(r *http.Request, origin string) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" {
		return s == "same-origin"
	}
	o := r.Header.Get("Origin")
	return o != "" && o == origin
}

// pageCSP allows our own script and stylesheet and nothing inline.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// renderPage writes an HTML page under pageCSP.
func renderPage(c *gin.Context, status int, page string, data any) {
	c.Header("Content-Security-Policy", pageCSP)
	// Our forms must carry a real Origin; other origins still get nothing.
	c.Header("Referrer-Policy", "same-origin")
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(status)
	if err := web.Render(c.Writer, page, data); err != nil {
		_ = c.Error(err)
	}
}

// renderError writes the readable error page.
func renderError(c *gin.Context, status int, title, msg string) {
	renderPage(c, status, web.ErrorPage, web.Message{Title: title, Message: msg})
	c.Abort()
}
