package pusherauth

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

	"gatehouse/apps"
	"gatehouse/authn"
	"gatehouse/internal/httpx"
	"gatehouse/policy"
	"gatehouse/pusherproto"
)

// Paths of the two endpoints.
const (
	ChannelAuthPath = "/pusher/auth"
	UserAuthPath    = "/pusher/user-auth"
)

// Config configures the Pusher auth endpoints.
type Config struct {
	// Apps are the apps whose credentials sign (apps.New; nil or empty: the
	// endpoints answer 404); with exactly one, ?app may be left out.
	Apps *apps.Set
	// Anonymous lets callers without a credential be authorized, as a fresh
	// anonymous identity, for the channels the policy's anonymous grants
	// cover. User authentication (signin) always needs a credential.
	Anonymous bool
	// AnonymousLimit bounds the anonymous identities one client address
	// gets (429 past it); nil is no bound. It is the limiter of
	// /token/anonymous, so the budget is shared.
	AnonymousLimit *httpx.RateLimiter
}

// Metrics counts broker auth decisions; the Prometheus metrics of handlers
// implement it.
type Metrics interface {
	// Decision counts one decision ("allow" or "deny") of front.
	Decision(front, decision string)
}

// SessionBinder tells the node holding a socket of an app that a login
// session authorized it for channel; the socket is bound to the session when
// it subscribes to that channel, so that revoking the session closes it. The
// hosted Pusher server (realtime/pusher) implements it.
type SessionBinder interface {
	BindSession(ctx context.Context, appID, socketID, channel, sid string) error
}

// Auth serves Pusher channel authorization (POST /pusher/auth) and user
// authentication (POST /pusher/user-auth) for the configured apps, deciding
// with the policy and signing with pusherproto.
type Auth struct {
	cfg     Config
	resolve *authn.Resolver
	cors    *httpx.CORS
	binder  SessionBinder
	metrics Metrics
	log     *slog.Logger
}

// New builds the endpoints. cors may be nil (no cross-origin callers);
// binder may be nil (no apps hosted here: nothing to bind).
func New(cfg Config, res *authn.Resolver, cors *httpx.CORS, binder SessionBinder, m Metrics, log *slog.Logger) (*Auth, error) {
	if res == nil || m == nil || log == nil {
		return nil, errors.New("pusherauth: needs a resolver, metrics and a logger")
	}
	if cfg.Apps == nil {
		cfg.Apps, _ = apps.New()
	}
	return &Auth{cfg: cfg, resolve: res, cors: cors, binder: binder, metrics: m, log: log}, nil
}

// Routes returns the two endpoints and their CORS preflights.
func (p *Auth) Routes() []httpx.Route {
	var out []httpx.Route
	for _, r := range []struct {
		path string
		h    httpx.Handler
	}{{ChannelAuthPath, p.channelAuth}, {UserAuthPath, p.userAuth}} {
		h := r.h
		out = append(out,
			httpx.Route{Method: http.MethodOptions, Pattern: r.path, Handler: p.cors.Preflight},
			httpx.Route{Method: http.MethodPost, Pattern: r.path, Handler: func(w http.ResponseWriter, req *http.Request, ip string) {
				p.cors.Headers(w, req)
				h(w, req, ip)
			}})
	}
	return out
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
	// SID is the caller's login session. The socket presents this signed
	// user data itself in pusher:signin, and the server binds it to the
	// session then, so a logout closes it. Only the signing-in client sees
	// user_data.
	SID string `json:"sid,omitempty"`
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

func (p *Auth) channelAuth(w http.ResponseWriter, r *http.Request, clientIP string) {
	app, req, caller, ok := p.prepare(w, r, clientIP, true)
	if !ok {
		return
	}
	ch := req.ChannelName
	typ := pusherproto.TypeOf(ch)
	encrypted, presence := typ == pusherproto.Encrypted, typ == pusherproto.Presence
	switch {
	case !typ.NeedsAuth():
		p.metrics.Decision("pusher", "deny")
		httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "only private and presence channels are authorized")
		return
	case encrypted && app.EncryptionMasterKey == nil:
		p.metrics.Decision("pusher", "deny")
		httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "this app has no encryption master key")
		return
	case !caller.Grants.CanSubscribe(ch):
		p.denied(w, r, caller, ch)
		return
	}
	var ans channelAuthAnswer
	if presence {
		id := caller.Identity
		data, err := compactJSON(presenceData{UserID: id.Subject, UserInfo: infoOf(id)})
		if err != nil {
			p.fail(w, r, err)
			return
		}
		ans.ChannelData = data
	}
	ans.Auth = pusherproto.ChannelAuth(app.Key, app.Secret, req.SocketID, ch, ans.ChannelData)
	if encrypted {
		ans.SharedSecret = pusherproto.SharedSecret(ch, app.EncryptionMasterKey)
	}
	p.allowed(r, app, req, caller)
	p.bind(r, app, req, caller)
	httpx.WriteJSON(w, http.StatusOK, ans)
}

func (p *Auth) userAuth(w http.ResponseWriter, r *http.Request, clientIP string) {
	app, req, caller, ok := p.prepare(w, r, clientIP, false)
	if !ok {
		return
	}
	if caller.Identity.Anonymous {
		p.denied(w, r, caller, "")
		return
	}
	id := caller.Identity
	data, err := compactJSON(userData{ID: id.Subject, UserInfo: infoOf(id), SID: id.SessionID})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.allowed(r, app, req, caller)
	httpx.WriteJSON(w, http.StatusOK, userAuthAnswer{Auth: pusherproto.UserAuth(app.Key, app.Secret, req.SocketID, data), UserData: data})
}

// prepare picks the app, parses the form and resolves the caller, answering
// the request itself when any of them fails.
func (p *Auth) prepare(w http.ResponseWriter, r *http.Request, clientIP string, wantChannel bool) (*apps.App, authRequest, authn.Caller, bool) {
	appID := r.URL.Query().Get("app")
	app := p.app(appID)
	if app == nil {
		msg := "unknown app"
		if appID == "" {
			msg = "app parameter required when several apps are configured"
		}
		if p.cfg.Apps.Len() == 0 {
			httpx.WriteError(w, http.StatusNotFound, httpx.CodeNotFound, "no apps are configured")
		} else {
			httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, msg)
		}
		return nil, authRequest{}, authn.Caller{}, false
	}
	if !app.Pusher() {
		httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "this app has no Pusher key and secret to sign with")
		return nil, authRequest{}, authn.Caller{}, false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		httpx.WriteBodyError(w, err)
		return nil, authRequest{}, authn.Caller{}, false
	}
	req, err := parsePusherAuth(contentType(r), body, wantChannel)
	if err != nil {
		p.log.InfoContext(r.Context(), "pusher auth: bad request", "err", err)
		httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "socket_id or channel_name is missing or malformed")
		return nil, authRequest{}, authn.Caller{}, false
	}
	caller, err := p.resolve.Request(r, p.cfg.Anonymous)
	if err != nil {
		p.metrics.Decision("pusher", "deny")
		p.log.InfoContext(r.Context(), "pusher auth: no valid credential", "err", err)
		httpx.WriteError(w, http.StatusUnauthorized, httpx.CodeInvalidToken, "no valid credential")
		return nil, authRequest{}, authn.Caller{}, false
	}
	// Every credential-less request mints a fresh anonymous identity: it
	// shares the per-address budget of /token/anonymous.
	if caller.Source == authn.SourceAnonymous && p.cfg.AnonymousLimit != nil &&
		!p.cfg.AnonymousLimit.Admit(w, clientIP, "too many anonymous authorizations from this address") {
		p.metrics.Decision("pusher", "deny")
		return nil, authRequest{}, authn.Caller{}, false
	}
	// A browser on a foreign origin may carry the session cookie (SameSite
	// lets top-level POSTs through in some cases): only configured origins
	// act with it.
	if caller.Source == authn.SourceSession {
		if o := r.Header.Get("Origin"); o != "" && !p.cors.Allowed(o) {
			p.denied(w, r, caller, "origin "+o)
			return nil, authRequest{}, authn.Caller{}, false
		}
	}
	return app, req, caller, true
}

// contentType is the Content-Type of r up to its parameters.
func contentType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexAny(ct, " ;"); i >= 0 {
		return ct[:i]
	}
	return ct
}

func (p *Auth) app(id string) *apps.App {
	if id == "" {
		if p.cfg.Apps.Len() == 1 {
			return p.cfg.Apps.All()[0]
		}
		return nil
	}
	return p.cfg.Apps.ByID(id)
}

// allowed counts the decision.
func (p *Auth) allowed(_ *http.Request, _ *apps.App, _ authRequest, _ authn.Caller) {
	p.metrics.Decision("pusher", "allow")
}

// bind tells the socket's node that the caller's login session, if any,
// authorized it for the channel; the socket is bound to the session once it
// subscribes there, so that a logout closes it.
func (p *Auth) bind(r *http.Request, app *apps.App, req authRequest, caller authn.Caller) {
	sid := caller.Identity.SessionID
	if sid == "" || p.binder == nil {
		return
	}
	if err := p.binder.BindSession(r.Context(), app.ID, req.SocketID, req.ChannelName, sid); err != nil {
		p.log.WarnContext(r.Context(), "pusher auth: bind session", "app", app.ID, "err", err)
	}
}

func (p *Auth) denied(w http.ResponseWriter, r *http.Request, caller authn.Caller, what string) {
	p.metrics.Decision("pusher", "deny")
	p.log.InfoContext(r.Context(), "pusher auth denied", "sub", caller.Identity.Subject, "source", caller.Source, "channel", what)
	httpx.WriteError(w, http.StatusForbidden, httpx.CodeAccessDenied, "not allowed")
}

func (p *Auth) fail(w http.ResponseWriter, r *http.Request, err error) {
	p.log.ErrorContext(r.Context(), "pusher auth failed", "err", err)
	httpx.WriteError(w, http.StatusInternalServerError, httpx.CodeServerError, "internal error")
}

// compactJSON encodes v as JSON.stringify would: no HTML escaping, no
// trailing newline. The bytes are signed, so they are produced once and sent
// as they are.
func compactJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("pusherauth: encode: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
