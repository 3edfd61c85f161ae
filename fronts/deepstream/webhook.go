package deepstream

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"

	"gatehouse/authn"
	"gatehouse/internal/httpx"
)

// denied is the one reason a refused login is given. deepstream hands a
// text body to the client's login() as {reason: {error: text}}.
const denied = "invalid credentials"

// Path is where deepstream posts its login requests.
const Path = "/webhooks/deepstream"

// Config configures the deepstream login webhook.
type Config struct {
	// Enabled mounts a working webhook; when false it answers 404.
	Enabled bool
	// Anonymous lets a connection with empty authData and no session cookie
	// in as a fresh anonymous identity.
	Anonymous bool
	// AnonymousLimit bounds the anonymous identities one client address
	// gets (the address deepstream reports in connectionData.remoteAddress,
	// else the caller's); nil is no bound. It is the limiter of
	// /token/anonymous, so the budget is shared.
	AnonymousLimit *httpx.RateLimiter
}

// Metrics counts broker auth decisions; the Prometheus metrics of handlers
// implement it.
type Metrics interface {
	// Decision counts one decision ("allow" or "deny") of front.
	Decision(front, decision string)
}

// Webhook answers deepstream's HTTP authentication webhook (README,
// "Answering brokers").
type Webhook struct {
	cfg     Config
	resolve *authn.Resolver
	metrics Metrics
	log     *slog.Logger
}

// New builds the webhook.
func New(cfg Config, res *authn.Resolver, m Metrics, log *slog.Logger) (*Webhook, error) {
	if res == nil || m == nil || log == nil {
		return nil, errors.New("deepstream: webhook needs a resolver, metrics and a logger")
	}
	return &Webhook{cfg: cfg, resolve: res, metrics: m, log: log}, nil
}

// Routes returns the webhook's route.
func (d *Webhook) Routes() []httpx.Route {
	return []httpx.Route{{Method: http.MethodPost, Pattern: Path, Handler: d.login}}
}

// answer is the 200 body: deepstream gives clientData to the client's
// login() and serverData to Valve permissions as user.data.
type answer struct {
	ID         string     `json:"id"`
	ClientData clientData `json:"clientData"`
	ServerData serverData `json:"serverData"`
}

type clientData struct {
	Name      string `json:"name"`
	Anon      bool   `json:"anon"`
	ExpiresAt int64  `json:"expires_at"`
}

type serverData struct {
	Roles       []string `json:"roles"`
	Groups      []string `json:"groups"`
	Permissions []string `json:"permissions"`
	SID         string   `json:"sid"`
}

// errAnonymousRateLimited refuses an anonymous login over the address's
// budget.
var errAnonymousRateLimited = errors.New("deepstream: anonymous logins rate limited")

func (d *Webhook) login(w http.ResponseWriter, r *http.Request, clientIP string) {
	if !d.cfg.Enabled {
		httpx.WriteError(w, http.StatusNotFound, httpx.CodeNotFound, "the deepstream webhook is disabled")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		httpx.WriteBodyError(w, err)
		return
	}
	ctx := r.Context()
	req, err := parseDeepstreamLogin(body)
	if err != nil {
		d.deny(w, r, err)
		return
	}
	caller, err := d.caller(r, req, clientIP)
	if errors.Is(err, errAnonymousRateLimited) {
		d.metrics.Decision("deepstream", "deny")
		d.log.InfoContext(ctx, "deepstream anonymous login rate limited", "remote", req.RemoteAddress)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("too many anonymous logins"))
		return
	}
	if err != nil {
		d.deny(w, r, err)
		return
	}
	d.metrics.Decision("deepstream", "allow")
	d.log.DebugContext(ctx, "deepstream login allowed", "sub", caller.Identity.Subject, "source", caller.Source)
	id := caller.Identity
	httpx.WriteJSON(w, http.StatusOK, answer{
		ID:         id.Subject,
		ClientData: clientData{Name: id.Name, Anon: id.Anonymous, ExpiresAt: caller.ExpiresAt.Unix()},
		ServerData: serverData{Roles: id.Roles, Groups: id.Groups, Permissions: caller.Grants.Permissions(), SID: id.SessionID},
	})
}

// caller applies the webhook's order: authData.token, then the forwarded
// session cookie, then anonymous for an empty authData. A credential that
// is present but bad ends the search.
func (d *Webhook) caller(r *http.Request, req deepstreamLogin, clientIP string) (authn.Caller, error) {
	if req.HasToken {
		return d.resolve.Token(req.Token)
	}
	caller, ok, err := d.resolve.SessionFromCookie(r.Context(), req.Cookie)
	if err != nil || ok {
		return caller, err
	}
	if req.AuthDataEmpty && d.cfg.Anonymous {
		if d.cfg.AnonymousLimit != nil {
			key := clientIP
			if a, err := netip.ParseAddr(req.RemoteAddress); err == nil {
				key = a.Unmap().String()
			}
			if ok, _ := d.cfg.AnonymousLimit.Allow(key); !ok {
				return authn.Caller{}, errAnonymousRateLimited
			}
		}
		return d.resolve.Anonymous(), nil
	}
	return authn.Caller{}, authn.ErrNoCredential
}

func (d *Webhook) deny(w http.ResponseWriter, r *http.Request, err error) {
	d.metrics.Decision("deepstream", "deny")
	d.log.InfoContext(r.Context(), "deepstream login refused", "err", err)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(denied))
}
