package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/jwt/v2"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"gatehouse/authn"
	"gatehouse/internal/httpx"
	"gatehouse/revocation"
)

// Subject is where NATS servers send authorization requests.
const Subject = "$SYS.REQ.USER.AUTH"

// xkeyHeader carries the server's public curve key of an encrypted
// request.
const xkeyHeader = "Nats-Server-Xkey"

// queue lets several Gatehouse nodes share the requests: one answers each.
const queue = "gatehouse"

// Config configures the callout service.
type Config struct {
	// URL is the NATS server (nats:// or tls://; several comma-separated).
	URL string
	// User and Password are the auth_users credentials the service
	// connects with.
	User, Password string
	// IssuerSeed is the account seed (S A…) whose public key is the
	// auth_callout issuer: it signs the responses and the user JWTs.
	IssuerSeed []byte
	// XKeySeed, when set, is the curve seed (S X…) whose public key is the
	// auth_callout xkey: requests arrive encrypted to it and responses are
	// encrypted to the server.
	XKeySeed []byte
	// Account is the account the users are placed in (auth_callout's
	// target; in server-configured mode its name).
	Account string
	// MaxTTL caps a user JWT's lifetime (tokens.ttl): a revoked session's
	// NATS connections end at most this long after the logout.
	MaxTTL time.Duration
	// SystemUser and SystemPassword, when SystemUser is set, are a user of
	// the system account: a revoked session's connections are then kicked
	// at once ($SYS.REQ.SERVER.<id>.KICK) instead of ending at MaxTTL.
	SystemUser, SystemPassword string
	// Revocations tells of revoked sessions (needed with SystemUser).
	Revocations revocation.Watcher
	// Anonymous admits a client without any credential as a fresh
	// anonymous identity; AnonymousTTL is how long it lasts.
	Anonymous    bool
	AnonymousTTL time.Duration
	// AnonymousLimit bounds anonymous identities per client address.
	AnonymousLimit *httpx.RateLimiter
	// Now is the clock [time.Now].
	Now func() time.Time
}

// Metrics counts broker auth decisions.
type Metrics interface {
	Decision(front, decision string)
}

// Callout is a running auth callout service.
type Callout struct {
	cfg     Config
	resolve *authn.Resolver
	metrics Metrics
	log     *slog.Logger
	issuer  nkeys.KeyPair
	xkey    *sealer // nil without encryption
	nc      *natsgo.Conn

	// With a system user: the system account connection, the connections
	// each session opened through this node, the kicks in flight, and done
	// (closed by Close).
	sys           *natsgo.Conn
	conns         *conns
	kicks         atomic.Int64
	done          chan struct{}
	stopWatch     func()
	fullOnce      sync.Once
	kicksFullOnce sync.Once

	dropOnce sync.Map // pattern -> struct{}: unmappable grants are logged once
}

// New checks cfg and builds the service without connecting it: Answer
// then answers requests handed to it. Start is New followed by the
// connections.
func New(cfg Config, res *authn.Resolver, m Metrics, log *slog.Logger) (*Callout, error) {
	if res == nil || m == nil || log == nil {
		return nil, errors.New("nats: callout needs a resolver, metrics and a logger")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxTTL <= 0 {
		cfg.MaxTTL = 5 * time.Minute
	}
	if cfg.AnonymousTTL <= 0 {
		cfg.AnonymousTTL = cfg.MaxTTL
	}
	issuer, err := newSigner(cfg.IssuerSeed)
	if err != nil {
		return nil, fmt.Errorf("nats: issuer_seed: %w", err)
	}
	if pub, _ := issuer.PublicKey(); !nkeys.IsValidPublicAccountKey(pub) {
		return nil, errors.New("nats: issuer_seed must be an account seed (SA…)")
	}
	c := &Callout{cfg: cfg, resolve: res, metrics: m, log: log, issuer: issuer}
	if len(cfg.XKeySeed) > 0 {
		if c.xkey, err = newSealer(cfg.XKeySeed); err != nil {
			return nil, fmt.Errorf("nats: xkey_seed: %w", err)
		}
	}
	if cfg.Account == "" {
		return nil, errors.New("nats: account is required")
	}
	if cfg.SystemUser != "" && cfg.Revocations == nil {
		return nil, errors.New("nats: a system user needs the revocation list")
	}
	return c, nil
}

// Start checks cfg, connects to NATS (retrying in the background when it
// is not up yet) and subscribes to the authorization requests.
func Start(cfg Config, res *authn.Resolver, m Metrics, log *slog.Logger) (*Callout, error) {
	c, err := New(cfg, res, m, log)
	if err != nil {
		return nil, err
	}
	cfg = c.cfg
	nc, err := connect(cfg.URL, cfg.User, cfg.Password, "gatehouse auth callout", log)
	if err != nil {
		return nil, err
	}
	if _, err := nc.QueueSubscribe(Subject, queue, c.handle); err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: subscribe: %w", err)
	}
	c.nc = nc
	if cfg.SystemUser == "" {
		return c, nil
	}
	c.conns, c.done = newConns(cfg.Now), make(chan struct{})
	if c.sys, err = connect(cfg.URL, cfg.SystemUser, cfg.SystemPassword, "gatehouse revocations", log); err != nil {
		nc.Close()
		return nil, err
	}
	if _, err := c.sys.Subscribe(fmt.Sprintf(disconnectSubject, cfg.Account), c.disconnected); err != nil {
		nc.Close()
		c.sys.Close()
		return nil, fmt.Errorf("nats: subscribe to disconnect events: %w", err)
	}
	c.stopWatch = cfg.Revocations.Subscribe(c.Revoked)
	return c, nil
}

// connect opens a connection that retries in the background while NATS is
// not up and reconnects for ever.
func connect(url, user, password, name string, log *slog.Logger) (*natsgo.Conn, error) {
	nc, err := natsgo.Connect(url,
		natsgo.UserInfo(user, password),
		natsgo.Name(name),
		natsgo.RetryOnFailedConnect(true),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(250*time.Millisecond),
		natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) {
			log.Warn("nats: disconnected", "conn", name, "err", err)
		}),
		natsgo.ReconnectHandler(func(*natsgo.Conn) { log.Info("nats: reconnected", "conn", name) }),
		// Asynchronous errors, e.g. a permissions violation when the
		// server's permissions for this user leave out a subject we use.
		natsgo.ErrorHandler(func(_ *natsgo.Conn, _ *natsgo.Subscription, err error) {
			log.Error("nats: asynchronous error", "conn", name, "err", err)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("nats: connect (%s): %w", name, err)
	}
	return nc, nil
}

// Ready is nil while the service (and its system connection, if any) is
// connected to NATS.
func (c *Callout) Ready(context.Context) error {
	if c.nc == nil {
		return errors.New("nats: not started")
	}
	if !c.nc.IsConnected() {
		return fmt.Errorf("nats: not connected (%s)", c.nc.Status())
	}
	if c.sys != nil && !c.sys.IsConnected() {
		return fmt.Errorf("nats: system connection not connected (%s)", c.sys.Status())
	}
	return nil
}

// Close stops kicking, drains the subscription and closes the connections.
func (c *Callout) Close() error {
	if c.sys != nil {
		c.stopWatch()
		close(c.done)
		c.sys.Close()
	}
	if c.nc == nil {
		return nil
	}
	if c.nc.IsConnected() {
		return c.nc.Drain()
	}
	c.nc.Close()
	return nil
}

// handle answers one authorization request from NATS.
func (c *Callout) handle(msg *natsgo.Msg) {
	body, req := c.answer(msg.Data, msg.Header.Get(xkeyHeader))
	if body == nil {
		return
	}
	if err := msg.Respond(body); err != nil {
		c.log.Warn("nats callout: respond", "err", err)
		c.untrack(req)
	}
}

// Answer returns the response to one authorization request: data as it
// arrives on Subject and serverXKey, the value of its Nats-Server-Xkey
// header ("" when unencrypted). It is nil when the request is ignored (it
// does not decrypt or decode: NATS then refuses the client at its
// timeout). A refusal is a response too, with its error set.
func (c *Callout) Answer(data []byte, serverXKey string) []byte {
	body, _ := c.answer(data, serverXKey)
	return body
}

// answer is Answer, also returning the decoded request. Every failure to
// understand the request is a refusal, never an authorization.
func (c *Callout) answer(data []byte, serverXKey string) ([]byte, *jwt.AuthorizationRequestClaims) {
	if c.xkey != nil {
		if serverXKey == "" {
			c.log.Warn("nats callout: unencrypted request while an xkey is configured; ignored")
			return nil, nil
		}
		var err error
		if data, err = c.xkey.Open(data, serverXKey); err != nil {
			c.log.Warn("nats callout: request does not decrypt", "err", err)
			return nil, nil
		}
	}
	req, err := jwt.DecodeAuthorizationRequestClaims(string(data))
	if err != nil {
		c.log.Warn("nats callout: undecodable request", "err", err)
		return nil, nil
	}
	if c.xkey != nil && req.Server.XKey != serverXKey {
		c.log.Warn("nats callout: the request's xkey header does not match its signed server xkey")
		return nil, nil
	}
	ujwt, grant, err := c.authorize(req)
	if err == nil {
		err = c.track(req, grant)
	}
	resp := jwt.NewAuthorizationResponseClaims(req.UserNkey)
	resp.Audience = req.Server.ID
	if err != nil {
		c.metrics.Decision("nats", "deny")
		c.log.Info("nats connect denied", "client", req.ClientInformation.Host, "err", err)
		resp.Error = "not authorized"
	} else {
		c.metrics.Decision("nats", "allow")
		resp.Jwt = ujwt
	}
	out, err := resp.Encode(c.issuer)
	if err != nil {
		c.log.Error("nats callout: encode response", "err", err)
		c.untrack(req)
		return nil, nil
	}
	body := []byte(out)
	if c.xkey != nil {
		if body, err = c.xkey.Seal(body, serverXKey); err != nil {
			c.log.Error("nats callout: encrypt response", "err", err)
			c.untrack(req)
			return nil, nil
		}
	}
	return body, req
}

var errNoCredential = errors.New("nats: no credential in the connect options")

// grant is what authorize let in: the session it belongs to and until when.
type grant struct {
	sid   string
	until time.Time
}

// authorize verifies the client's credential and returns its user JWT.
func (c *Callout) authorize(req *jwt.AuthorizationRequestClaims) (string, grant, error) {
	opts := req.ConnectOptions
	cred := opts.Token
	if cred == "" {
		cred = opts.Password
	}
	var (
		caller authn.Caller
		err    error
	)
	switch {
	case cred != "":
		caller, err = c.resolve.Token(cred)
	case c.cfg.Anonymous:
		if l := c.cfg.AnonymousLimit; l != nil {
			if ok, _ := l.Allow(req.ClientInformation.Host); !ok {
				return "", grant{}, errors.New("nats: anonymous connects rate limited")
			}
		}
		caller = c.resolve.Anonymous()
		caller.ExpiresAt = c.cfg.Now().Add(c.cfg.AnonymousTTL)
	default:
		err = errNoCredential
	}
	if err != nil {
		return "", grant{}, err
	}
	now := c.cfg.Now()
	end := caller.ExpiresAt
	if limit := now.Add(c.cfg.MaxTTL); end.IsZero() || end.After(limit) {
		end = limit
	}
	if !end.After(now) {
		return "", grant{}, errors.New("nats: credential ended")
	}
	uc := jwt.NewUserClaims(req.UserNkey)
	uc.Audience = c.cfg.Account
	uc.Name = caller.Identity.Subject
	uc.Expires = end.Unix()
	pub, droppedPub := Subjects(caller.Grants.Publish)
	sub, droppedSub := Subjects(caller.Grants.Subscribe)
	c.logDropped(append(droppedPub, droppedSub...))
	allowOrDenyAll(&uc.Pub, pub)
	allowOrDenyAll(&uc.Sub, sub)
	ujwt, err := uc.Encode(c.issuer)
	return ujwt, grant{sid: caller.Identity.SessionID, until: end}, err
}

// track remembers the connection of req for a kick when its session is
// revoked (with a system user). It is recorded before the revocation is
// checked once more, so a logout racing this connect either refuses it
// here or finds it recorded and kicks it.
func (c *Callout) track(req *jwt.AuthorizationRequestClaims, g grant) error {
	if c.conns == nil || !trackable(g.sid, req.Server.ID) {
		return nil
	}
	ref := connRef{server: req.Server.ID, cid: req.ClientInformation.ID, until: g.until}
	if !c.conns.add(g.sid, ref) {
		c.fullOnce.Do(func() {
			c.log.Warn("nats callout: the connection index is full; connections past it end at their expiry instead of at logout", "max", maxConns)
		})
	}
	if c.cfg.Revocations.Revoked(g.sid) {
		c.conns.remove(ref.server, ref.cid)
		return errors.New("nats: session revoked")
	}
	return nil
}

// untrack forgets the connection of req (its answer could not be sent).
func (c *Callout) untrack(req *jwt.AuthorizationRequestClaims) {
	if c.conns != nil {
		c.conns.remove(req.Server.ID, req.ClientInformation.ID)
	}
}

// allowOrDenyAll sets an allow list; an empty one would allow everything,
// so nothing granted is written as deny ">".
func allowOrDenyAll(p *jwt.Permission, subjects []string) {
	if len(subjects) == 0 {
		p.Deny.Add(">")
		return
	}
	p.Allow.Add(subjects...)
}

// logDropped logs each policy pattern that has no NATS form, once.
func (c *Callout) logDropped(patterns []string) {
	for _, p := range patterns {
		if _, seen := c.dropOnce.LoadOrStore(p, struct{}{}); !seen {
			c.log.Warn("nats callout: a granted pattern has no NATS subject form and is left out (write patterns as dot-separated tokens, e.g. chat.* or user.{sub}.*)", "pattern", p)
		}
	}
}
