package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/gin-gonic/gin"

	"gatehouse/authn"
	"gatehouse/policy"
	"gatehouse/pusherproto"
)

// PusherApp is one app's Pusher credentials.
type PusherApp struct {
	// ID is the app id, picked with ?app=ID.
	ID string
	// Key and Secret sign channel authorizations and user authentications.
	Key, Secret string
	// MasterKey is the 32-byte encryption master key; nil refuses
	// private-encrypted- channels.
	MasterKey []byte
}

// PusherAuthConfig configures the Pusher auth endpoints.
type PusherAuthConfig struct {
	// Apps are the apps whose credentials sign; with exactly one, ?app may be
	// left out.
	Apps []PusherApp
	// Anonymous lets callers without a credential be authorized, as a fresh
	// anonymous identity, for the channels the policy's anonymous grants
	// cover. User authentication (signin) always needs a credential.
	Anonymous bool
}

// AuthorizedHook is told, after a successful authorization, which identity a
// socket of an app was authorized for (the hosted realtime layer binds the
// identity's session to the socket, so revoking the session closes it).
type AuthorizedHook func(ctx context.Context, appID, socketID string, id policy.Identity)

// PusherAuth serves Pusher channel authorization (POST /pusher/auth) and user
// authentication (POST /pusher/user-auth) for the configured apps, deciding
// with the policy and signing with pusherproto.
type PusherAuth struct {
	cfg     PusherAuthConfig
	apps    map[string]*PusherApp
	resolve *authn.Resolver
	cors    *CORS
	metrics *Metrics
	log     *slog.Logger
	hook    atomic.Pointer[AuthorizedHook]
}

// NewPusherAuth validates the apps and builds the endpoints. cors may be nil
// (no cross-origin callers).
func NewPusherAuth(cfg PusherAuthConfig, res *authn.Resolver, cors *CORS, m *Metrics, log *slog.Logger) (*PusherAuth, error) {
	if res == nil || m == nil || log == nil {
		return nil, errors.New("handlers: pusher auth needs a resolver, metrics and a logger")
	}
	p := &PusherAuth{cfg: cfg, apps: map[string]*PusherApp{}, resolve: res, cors: cors, metrics: m, log: log}
	for i := range cfg.Apps {
		a := &cfg.Apps[i]
		if a.ID == "" || a.Key == "" || a.Secret == "" {
			return nil, fmt.Errorf("handlers: pusher app %d needs an id, key and secret", i)
		}
		if a.MasterKey != nil && len(a.MasterKey) != 32 {
			return nil, fmt.Errorf("handlers: pusher app %q: encryption master key must be 32 bytes", a.ID)
		}
		p.apps[a.ID] = a
	}
	return p, nil
}

// OnAuthorized installs the hook told of every successful authorization
// (nil removes it). It may be called at any time.
func (p *PusherAuth) OnAuthorized(f AuthorizedHook) {
	if f == nil {
		p.hook.Store(nil)
		return
	}
	p.hook.Store(&f)
}

// Mount adds the routes and their CORS preflights.
func (p *PusherAuth) Mount(r gin.IRouter) {
	for path, h := range map[string]gin.HandlerFunc{"/pusher/auth": p.channelAuth, "/pusher/user-auth": p.userAuth} {
		r.OPTIONS(path, p.cors.Preflight)
		r.POST(path, p.cors.Handle, h)
	}
}

// channelAuthAnswer is the JSON pusher-js expects from channel authorization.
// The key order is the pusher server SDK's: channel_data first.
type channelAuthAnswer struct {
	ChannelData  string `json:"channel_data,omitempty"`
	Auth         string `json:"auth"`
	SharedSecret string `json:"shared_secret,omitempty"`
}

// userAuthAnswer is the JSON pusher-js expects from user authentication.
type userAuthAnswer struct {
	Auth     string `json:"auth"`
	UserData string `json:"user_data"`
}

// presenceData is a presence member as Pusher carries it in channel_data.
type presenceData struct {
	UserID   string    `json:"user_id"`
	UserInfo *userInfo `json:"user_info,omitempty"`
}

// userData is the signed-in user as Pusher carries it in user_data.
type userData struct {
	ID       string    `json:"id"`
	UserInfo *userInfo `json:"user_info,omitempty"`
}

// userInfo is what other members see of a user; absent when there is
// nothing to show.
type userInfo struct {
	Name string `json:"name"`
}

func infoOf(id policy.Identity) *userInfo {
	if id.Name == "" {
		return nil
	}
	return &userInfo{Name: id.Name}
}

func (p *PusherAuth) channelAuth(c *gin.Context) {
	app, req, caller, ok := p.prepare(c, true)
	if !ok {
		return
	}
	ch := req.ChannelName
	typ := pusherproto.TypeOf(ch)
	encrypted, presence := typ == pusherproto.Encrypted, typ == pusherproto.Presence
	switch {
	case !typ.NeedsAuth():
		p.metrics.Decision("pusher", "deny")
		abort(c, http.StatusBadRequest, codeInvalidRequest, "only private and presence channels are authorized")
		return
	case encrypted && app.MasterKey == nil:
		p.metrics.Decision("pusher", "deny")
		abort(c, http.StatusBadRequest, codeInvalidRequest, "this app has no encryption master key")
		return
	case !caller.Grants.CanSubscribe(ch):
		p.denied(c, caller, ch)
		return
	}
	var ans channelAuthAnswer
	if presence {
		id := caller.Identity
		data, err := compactJSON(presenceData{UserID: id.Subject, UserInfo: infoOf(id)})
		if err != nil {
			p.fail(c, err)
			return
		}
		ans.ChannelData = data
	}
	ans.Auth = pusherproto.ChannelAuth(app.Key, app.Secret, req.SocketID, ch, ans.ChannelData)
	if encrypted {
		ans.SharedSecret = pusherproto.SharedSecret(ch, app.MasterKey)
	}
	p.allowed(c, app, req, caller)
	c.JSON(http.StatusOK, ans)
}

func (p *PusherAuth) userAuth(c *gin.Context) {
	app, req, caller, ok := p.prepare(c, false)
	if !ok {
		return
	}
	if caller.Identity.Anonymous {
		p.denied(c, caller, "")
		return
	}
	id := caller.Identity
	data, err := compactJSON(userData{ID: id.Subject, UserInfo: infoOf(id)})
	if err != nil {
		p.fail(c, err)
		return
	}
	p.allowed(c, app, req, caller)
	c.JSON(http.StatusOK, userAuthAnswer{Auth: pusherproto.UserAuth(app.Key, app.Secret, req.SocketID, data), UserData: data})
}

// prepare picks the app, parses the form and resolves the caller, answering
// the request itself when any of them fails.
func (p *PusherAuth) prepare(c *gin.Context, wantChannel bool) (*PusherApp, pusherAuthRequest, authn.Caller, bool) {
	app := p.app(c.Query("app"))
	if app == nil {
		msg := "unknown app"
		if c.Query("app") == "" {
			msg = "app parameter required when several apps are configured"
		}
		if len(p.apps) == 0 {
			abort(c, http.StatusNotFound, codeNotFound, "no apps are configured")
		} else {
			abort(c, http.StatusBadRequest, codeInvalidRequest, msg)
		}
		return nil, pusherAuthRequest{}, authn.Caller{}, false
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		abortBodyError(c, err)
		return nil, pusherAuthRequest{}, authn.Caller{}, false
	}
	req, err := parsePusherAuth(c.ContentType(), body, wantChannel)
	if err != nil {
		p.log.InfoContext(c.Request.Context(), "pusher auth: bad request", "err", err)
		abort(c, http.StatusBadRequest, codeInvalidRequest, "socket_id or channel_name is missing or malformed")
		return nil, pusherAuthRequest{}, authn.Caller{}, false
	}
	caller, err := p.resolve.Request(c.Request, p.cfg.Anonymous)
	if err != nil {
		p.metrics.Decision("pusher", "deny")
		p.log.InfoContext(c.Request.Context(), "pusher auth: no valid credential", "err", err)
		abort(c, http.StatusUnauthorized, codeInvalidToken, "no valid credential")
		return nil, pusherAuthRequest{}, authn.Caller{}, false
	}
	// A browser on a foreign origin may carry the session cookie (SameSite
	// lets top-level POSTs through in some cases): only configured origins
	// act with it.
	if caller.Source == authn.SourceSession {
		if o := c.GetHeader("Origin"); o != "" && !p.cors.Allowed(o) {
			p.denied(c, caller, "origin "+o)
			return nil, pusherAuthRequest{}, authn.Caller{}, false
		}
	}
	return app, req, caller, true
}

func (p *PusherAuth) app(id string) *PusherApp {
	if id == "" {
		if len(p.cfg.Apps) == 1 {
			return &p.cfg.Apps[0]
		}
		return nil
	}
	return p.apps[id]
}

func (p *PusherAuth) allowed(c *gin.Context, app *PusherApp, req pusherAuthRequest, caller authn.Caller) {
	p.metrics.Decision("pusher", "allow")
	if h := p.hook.Load(); h != nil {
		(*h)(c.Request.Context(), app.ID, req.SocketID, caller.Identity)
	}
}

func (p *PusherAuth) denied(c *gin.Context, caller authn.Caller, what string) {
	p.metrics.Decision("pusher", "deny")
	p.log.InfoContext(c.Request.Context(), "pusher auth denied", "sub", caller.Identity.Subject, "source", caller.Source, "channel", what)
	abort(c, http.StatusForbidden, codeAccessDenied, "not allowed")
}

func (p *PusherAuth) fail(c *gin.Context, err error) {
	p.log.ErrorContext(c.Request.Context(), "pusher auth failed", "err", err)
	abort(c, http.StatusInternalServerError, codeServerError, "internal error")
}

// compactJSON encodes v as JSON.stringify would: no HTML escaping, no
// trailing newline. The bytes are signed, so they are produced once and sent
// as they are.
func compactJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("handlers: encode: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
