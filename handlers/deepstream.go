package handlers

import (
	"errors"
	"gatehouse/authn"
	"io"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
)

// deepstreamDenied is the one reason a refused login is given. deepstream
// hands a text body to the client's login() as {reason: {error: text}}.
const deepstreamDenied = "invalid credentials"

// DeepstreamConfig configures the deepstream login webhook.
type DeepstreamConfig struct {
	// Enabled mounts a working webhook; when false it answers 404.
	Enabled bool
	// Anonymous lets a connection with empty authData and no session cookie
	// in as a fresh anonymous identity.
	Anonymous bool
}

// Deepstream answers deepstream's HTTP authentication webhook (SPEC §5).
type Deepstream struct {
	cfg     DeepstreamConfig
	resolve *authn.Resolver
	metrics *Metrics
	log     *slog.Logger
}

// NewDeepstream builds the webhook.
func NewDeepstream(cfg DeepstreamConfig, res *authn.Resolver, m *Metrics, log *slog.Logger) (*Deepstream, error) {
	if res == nil || m == nil || log == nil {
		return nil, errors.New("handlers: deepstream webhook needs a resolver, metrics and a logger")
	}
	return &Deepstream{cfg: cfg, resolve: res, metrics: m, log: log}, nil
}

// Mount adds the route.
func (d *Deepstream) Mount(r gin.IRouter) {
	r.POST("/webhooks/deepstream", d.login)
}

// deepstreamAnswer is the 200 body: deepstream gives clientData to the
// client's login() and serverData to Valve permissions as user.data.
type deepstreamAnswer struct {
	ID         string               `json:"id"`
	ClientData deepstreamClientData `json:"clientData"`
	ServerData deepstreamServerData `json:"serverData"`
}

type deepstreamClientData struct {
	Name      string `json:"name"`
	Anon      bool   `json:"anon"`
	ExpiresAt int64  `json:"expires_at"`
}

type deepstreamServerData struct {
	Roles       []string `json:"roles"`
	Groups      []string `json:"groups"`
	Permissions []string `json:"permissions"`
	SID         string   `json:"sid"`
}

func (d *Deepstream) login(c *gin.Context) {
	if !d.cfg.Enabled {
		abort(c, http.StatusNotFound, codeNotFound, "the deepstream webhook is disabled")
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		abortBodyError(c, err)
		return
	}
	ctx := c.Request.Context()
	req, err := parseDeepstreamLogin(body)
	if err != nil {
		d.deny(c, err)
		return
	}
	caller, err := d.caller(c, req)
	if err != nil {
		d.deny(c, err)
		return
	}
	d.metrics.Decision("deepstream", "allow")
	d.log.DebugContext(ctx, "deepstream login allowed", "sub", caller.Identity.Subject, "source", caller.Source)
	id := caller.Identity
	c.JSON(http.StatusOK, deepstreamAnswer{
		ID:         id.Subject,
		ClientData: deepstreamClientData{Name: id.Name, Anon: id.Anonymous, ExpiresAt: caller.ExpiresAt.Unix()},
		ServerData: deepstreamServerData{Roles: id.Roles, Groups: id.Groups, Permissions: caller.Grants.Permissions(), SID: id.SessionID},
	})
}

// caller applies SPEC §5's order: authData.token, then the forwarded session
// cookie, then anonymous for an empty authData. A credential that is present
// but bad ends the search.
func (d *Deepstream) caller(c *gin.Context, req deepstreamLogin) (authn.Caller, error) {
	if req.HasToken {
		return d.resolve.Token(req.Token)
	}
	caller, ok, err := d.resolve.SessionFromCookie(c.Request.Context(), req.Cookie)
	if err != nil || ok {
		return caller, err
	}
	if req.AuthDataEmpty && d.cfg.Anonymous {
		return d.resolve.Anonymous(), nil
	}
	return authn.Caller{}, authn.ErrNoCredential
}

func (d *Deepstream) deny(c *gin.Context, err error) {
	d.metrics.Decision("deepstream", "deny")
	d.log.InfoContext(c.Request.Context(), "deepstream login refused", "err", err)
	c.Data(http.StatusUnauthorized, "text/plain; charset=utf-8", []byte(deepstreamDenied))
	c.Abort()
}
