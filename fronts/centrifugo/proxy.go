package centrifugo

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"gatehouse/authn"
	"gatehouse/internal/httpx"
	"gatehouse/policy"
	"gatehouse/revocation"
)

// PathPrefix is where Centrifugo's proxies post: PathPrefix + "connect",
// "refresh", "subscribe", "publish", "sub_refresh".
const PathPrefix = "/webhooks/centrifugo/"

// Config configures the proxy endpoints.
type Config struct {
	// Enabled mounts working endpoints; when false they answer 404.
	Enabled bool
	// Anonymous lets a connect without any credential in as a fresh
	// anonymous identity.
	Anonymous bool
	// AnonymousLimit bounds the anonymous identities per client address
	// (shared with /token/anonymous); nil is no bound.
	AnonymousLimit *httpx.RateLimiter
	// AnonymousTTL is how long an anonymous connection lasts between
	// refreshes.
	AnonymousTTL time.Duration
	// HeaderName and HeaderValue, when set, must arrive on every proxy
	// request (Centrifugo's proxy static_headers): compared in constant
	// time; anything else is 401.
	HeaderName, HeaderValue string
	// ServerSideChannels answers connect with the literal channels (no
	// wildcard) the caller may subscribe to, for server-side subscriptions.
	ServerSideChannels bool
	// RefreshEvery bounds expire_at, so that Centrifugo asks the refresh
	// proxy at least this often and a logged-out session's connection ends
	// within it even without the server API [5m].
	RefreshEvery time.Duration
	// Now is the clock [time.Now].
	Now func() time.Time
}

// Metrics counts broker auth decisions.
type Metrics interface {
	Decision(front, decision string)
}

// Proxy answers Centrifugo's proxy requests.
type Proxy struct {
	cfg     Config
	resolve *authn.Resolver
	revoked revocation.Checker
	metrics Metrics
	log     *slog.Logger
	// Sessions records which Centrifugo clients each login session opened,
	// so a revocation can disconnect them (see Disconnector). May be nil.
	sessions *Sessions
}

// New builds the proxy. revoked answers whether a session id is revoked
// (refresh ends the connection once it is); sessions may be nil.
func New(cfg Config, res *authn.Resolver, revoked revocation.Checker, sessions *Sessions, m Metrics, log *slog.Logger) (*Proxy, error) {
	if res == nil || revoked == nil || m == nil || log == nil {
		return nil, errors.New("centrifugo: proxy needs a resolver, a revocation checker, metrics and a logger")
	}
	if (cfg.HeaderName == "") != (cfg.HeaderValue == "") {
		return nil, errors.New("centrifugo: the proxy header needs a name and a value")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AnonymousTTL <= 0 {
		cfg.AnonymousTTL = 5 * time.Minute
	}
	if cfg.RefreshEvery <= 0 {
		cfg.RefreshEvery = 5 * time.Minute
	}
	return &Proxy{cfg: cfg, resolve: res, revoked: revoked, sessions: sessions, metrics: m, log: log}, nil
}

// Routes returns the five proxy endpoints.
func (p *Proxy) Routes() []httpx.Route {
	route := func(name string, h func(http.ResponseWriter, *http.Request, request, string)) httpx.Route {
		return httpx.Route{Method: http.MethodPost, Pattern: PathPrefix + name, Handler: p.wrap(name, h)}
	}
	return []httpx.Route{
		route("connect", p.connect),
		route("refresh", p.refresh),
		route("subscribe", p.subscribe),
		route("publish", p.publish),
		route("sub_refresh", p.subRefresh),
	}
}

// wrap checks what every proxy request shares: enabled, the static header,
// a JSON body.
func (p *Proxy) wrap(name string, h func(http.ResponseWriter, *http.Request, request, string)) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, clientIP string) {
		if !p.cfg.Enabled {
			httpx.WriteError(w, http.StatusNotFound, httpx.CodeNotFound, "the Centrifugo proxy is disabled")
			return
		}
		if p.cfg.HeaderName != "" {
			got := r.Header.Get(p.cfg.HeaderName)
			if subtle.ConstantTimeCompare([]byte(got), []byte(p.cfg.HeaderValue)) != 1 {
				p.log.WarnContext(r.Context(), "centrifugo proxy request without the configured header", "proxy", name, "ip", clientIP)
				httpx.WriteError(w, http.StatusUnauthorized, httpx.CodeInvalidToken, "proxy request not authenticated")
				return
			}
		}
		buf := bodyPool.Get().(*bytes.Buffer)
		buf.Reset()
		defer putBody(buf)
		if _, err := buf.ReadFrom(r.Body); err != nil {
			httpx.WriteBodyError(w, err)
			return
		}
		body := buf.Bytes()
		var req request
		// Connect data of another shape than an object is not ours to
		// judge: a type mismatch there still decodes the rest.
		var typeErr *json.UnmarshalTypeError
		if err := json.Unmarshal(body, &req); err != nil && !(errors.As(err, &typeErr) && typeErr.Field == "data") {
			// A body Centrifugo would never send: its own error shape,
			// never an answer that could read as allowed.
			p.log.InfoContext(r.Context(), "centrifugo proxy: malformed request", "proxy", name, "err", err)
			httpx.WriteError(w, http.StatusBadRequest, httpx.CodeInvalidRequest, "body must be a Centrifugo proxy request (JSON object)")
			return
		}
		h(w, r, req, clientIP)
	}
}

// bodyPool holds request body buffers: every proxy request is read whole,
// and decoding copies what it keeps, so a buffer is reused once the
// handler returns.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBody(b *bytes.Buffer) {
	if b.Cap() <= 2*httpx.MaxBodyBytes {
		bodyPool.Put(b)
	}
}

func (p *Proxy) write(w http.ResponseWriter, a answer) {
	httpx.WriteJSON(w, http.StatusOK, a)
}

func (p *Proxy) deny(r *http.Request, what string, err error) {
	p.metrics.Decision("centrifugo", "deny")
	p.log.InfoContext(r.Context(), "centrifugo "+what+" denied", "err", err)
}

// connect resolves the caller: the connect data's token, else the
// forwarded Authorization header, else the forwarded session cookie, else
// anonymous when enabled. A credential that is present but bad ends the
// search (never anonymous instead).
func (p *Proxy) connect(w http.ResponseWriter, r *http.Request, req request, clientIP string) {
	caller, err := p.caller(r, req, clientIP)
	if errors.Is(err, errAnonymousRateLimited) {
		p.deny(r, "connect", err)
		p.write(w, answer{Error: &protoError{Code: codeTooMany, Message: "too many requests"}})
		return
	}
	if err != nil {
		p.deny(r, "connect", err)
		p.write(w, answer{Error: &protoError{Code: codeUnauthorized, Message: "unauthorized"}})
		return
	}
	id := caller.Identity
	// Recorded before the revocation check: a revocation landing after
	// the check finds this client to disconnect; one landing before it
	// refuses the connect.
	track := p.sessions != nil && id.SessionID != "" && req.Client != ""
	if track {
		p.sessions.Add(id.SessionID, id.Subject, req.Client, caller.ExpiresAt)
	}
	if id.SessionID != "" && p.revoked.Revoked(id.SessionID) {
		if track {
			p.sessions.remove(id.SessionID, req.Client)
		}
		p.deny(r, "connect", errors.New("session revoked"))
		p.write(w, answer{Error: &protoError{Code: codeUnauthorized, Message: "unauthorized"}})
		return
	}
	info := append(appendString([]byte(`{"name":`), id.Name), '}')
	res := connectResult{
		User: id.Subject, ExpireAt: p.expireAt(caller.ExpiresAt), Info: info,
		Meta: &meta{Sub: id.Subject, SID: id.SessionID, End: unix(caller.ExpiresAt), Anon: id.Anonymous, Permissions: caller.Grants.Permissions()},
	}
	if p.cfg.ServerSideChannels {
		res.Channels = literalChannels(caller.Grants)
	}
	p.metrics.Decision("centrifugo", "allow")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(appendConnect(make([]byte, 0, 512), res))
}

var errAnonymousRateLimited = errors.New("centrifugo: anonymous connects rate limited")

func (p *Proxy) caller(r *http.Request, req request, clientIP string) (authn.Caller, error) {
	if tok, present, ok := req.Data.token(); present {
		if !ok {
			return authn.Caller{}, fmt.Errorf("%w: the connect data's token is not a string", authn.ErrBadCredential)
		}
		return p.resolve.Token(tok)
	}
	if len(r.Header.Values("Authorization")) > 0 {
		return p.resolve.Request(r, false)
	}
	caller, ok, err := p.resolve.Session(r)
	if err != nil || ok {
		return caller, err
	}
	if !p.cfg.Anonymous {
		return authn.Caller{}, authn.ErrNoCredential
	}
	if p.cfg.AnonymousLimit != nil {
		if ok, _ := p.cfg.AnonymousLimit.Allow(clientIP); !ok {
			return authn.Caller{}, errAnonymousRateLimited
		}
	}
	c := p.resolve.Anonymous()
	c.ExpiresAt = p.cfg.Now().Add(p.cfg.AnonymousTTL)
	return c, nil
}

// connMeta reads the meta the connect answer gave the connection.
func connMeta(req request) (meta, error) {
	var m meta
	if len(req.Meta) == 0 || string(req.Meta) == "null" {
		return m, errors.New("no connection meta: enable include_connection_meta on the proxy")
	}
	if err := json.Unmarshal(req.Meta, &m); err != nil {
		return m, fmt.Errorf("connection meta: %w", err)
	}
	if m.Sub == "" || m.Sub != req.User {
		return m, errors.New("connection meta is not this user's")
	}
	return m, nil
}

func (m meta) grants() policy.Grants {
	g, err := policy.ParsePermissions(m.Permissions)
	if err != nil {
		return policy.Grants{}
	}
	return g
}

// alive reports whether the connection's credential still holds.
func (p *Proxy) alive(m meta) error {
	if m.SID != "" && p.revoked.Revoked(m.SID) {
		return errors.New("session revoked")
	}
	if m.End != 0 && !p.cfg.Now().Before(time.Unix(m.End, 0)) && !m.Anon {
		return errors.New("credential ended")
	}
	return nil
}

func (p *Proxy) subscribe(w http.ResponseWriter, r *http.Request, req request, _ string) {
	p.channelDecision(w, r, req, "subscribe", policy.Grants.CanSubscribe)
}

func (p *Proxy) publish(w http.ResponseWriter, r *http.Request, req request, _ string) {
	p.channelDecision(w, r, req, "publish", policy.Grants.CanPublish)
}

// channelDecision answers subscribe and publish from the connection's
// grants: the policy's answer frozen at connect, for a credential still
// alive.
func (p *Proxy) channelDecision(w http.ResponseWriter, r *http.Request, req request, what string, can func(policy.Grants, string) bool) {
	m, err := connMeta(req)
	if err == nil {
		err = p.alive(m)
		if err != nil {
			p.deny(r, what, err)
			p.write(w, answer{Disconnect: &disconnect{Code: disconnectRevoked, Reason: "session ended"}})
			return
		}
	}
	if err == nil && (req.Channel == "" || !can(m.grants(), req.Channel)) {
		err = fmt.Errorf("channel %q not granted", req.Channel)
	}
	if err != nil {
		p.deny(r, what, err)
		p.write(w, answer{Error: &protoError{Code: codePermissionDenied, Message: "permission denied"}})
		return
	}
	p.metrics.Decision("centrifugo", "allow")
	p.write(w, answer{Result: empty{}})
}

// refresh extends a connection while its credential holds: up to the
// session's (or token's) end; an anonymous one by the anonymous lifetime.
// A revoked or ended one gets expired, and Centrifugo closes it.
func (p *Proxy) refresh(w http.ResponseWriter, r *http.Request, req request, _ string) {
	p.write(w, answer{Result: p.extend(r, req, "refresh")})
}

func (p *Proxy) subRefresh(w http.ResponseWriter, r *http.Request, req request, _ string) {
	p.write(w, answer{Result: p.extend(r, req, "sub_refresh")})
}

func (p *Proxy) extend(r *http.Request, req request, what string) refreshResult {
	m, err := connMeta(req)
	if err == nil {
		err = p.alive(m)
	}
	if err == nil && what == "sub_refresh" && !m.grants().CanSubscribe(req.Channel) {
		err = fmt.Errorf("channel %q not granted", req.Channel)
	}
	if err != nil {
		p.deny(r, what, err)
		return refreshResult{Expired: true}
	}
	p.metrics.Decision("centrifugo", "allow")
	if m.Anon {
		return refreshResult{ExpireAt: p.cfg.Now().Add(p.cfg.AnonymousTTL).Unix()}
	}
	return refreshResult{ExpireAt: p.expireAt(time.Unix(m.End, 0))}
}

// expireAt is when Centrifugo should ask again: the credential's end, or
// RefreshEvery from now when that comes first.
func (p *Proxy) expireAt(end time.Time) int64 {
	next := p.cfg.Now().Add(p.cfg.RefreshEvery)
	if end.IsZero() || next.Before(end) {
		return next.Unix()
	}
	return end.Unix()
}

// literalChannels are the granted subscribe patterns without wildcards.
func literalChannels(g policy.Grants) []string {
	var out []string
	for _, c := range g.Subscribe {
		if !strings.Contains(c, "*") && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}
