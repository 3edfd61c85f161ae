package rabbitmq

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"gatehouse/authn"
	"gatehouse/internal/httpx"
	"gatehouse/policy"
)

// PathPrefix is where the four checks are served: PathPrefix + "user",
// "vhost", "resource", "topic".
const PathPrefix = "/webhooks/rabbitmq/"

// Config configures the backend.
type Config struct {
	// Vhost is the one virtual host clients may use ["/"].
	Vhost string
	// AnyUsername accepts any user name with a valid token. By default
	// the name must be the token's subject, or the subject followed by
	// "/" and anything (one name per connection, e.g. sub/client-id; ":" is
	// RabbitMQ MQTT's vhost separator).
	AnyUsername bool
	// Now is the clock [time.Now].
	Now func() time.Time
	// Users keeps what user checks verified [NewMemoryUsers(Now)]; one
	// shared by every node lets RabbitMQ ask any of them.
	Users Users
}

// Metrics counts broker auth decisions.
type Metrics interface {
	Decision(front, decision string)
}

// Backend answers rabbitmq_auth_backend_http.
type Backend struct {
	cfg     Config
	resolve *authn.Resolver
	users   Users
	metrics Metrics
	log     *slog.Logger
}

// New builds the backend.
func New(cfg Config, res *authn.Resolver, m Metrics, log *slog.Logger) (*Backend, error) {
	if res == nil || m == nil || log == nil {
		return nil, errors.New("rabbitmq: backend needs a resolver, metrics and a logger")
	}
	if cfg.Vhost == "" {
		cfg.Vhost = "/"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Users == nil {
		cfg.Users = NewMemoryUsers(cfg.Now)
	}
	return &Backend{cfg: cfg, resolve: res, users: cfg.Users, metrics: m, log: log}, nil
}

// Routes returns the four checks, for http_method get and post.
func (b *Backend) Routes() []httpx.Route {
	var out []httpx.Route
	for name, h := range map[string]func(*http.Request) (bool, string){
		"user": b.user, "vhost": b.vhost, "resource": b.resource, "topic": b.topic,
	} {
		handler := b.answer(name, h)
		out = append(out,
			httpx.Route{Method: http.MethodGet, Pattern: PathPrefix + name, Handler: handler},
			httpx.Route{Method: http.MethodPost, Pattern: PathPrefix + name, Handler: handler})
	}
	return out
}

// answer writes the plugin's plain-text answer: "allow" or "deny", never
// an error status RabbitMQ could misread.
func (b *Backend) answer(check string, h func(*http.Request) (bool, string)) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, _ string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := r.ParseForm(); err != nil {
			b.log.InfoContext(r.Context(), "rabbitmq "+check+": unreadable request", "err", err)
			b.metrics.Decision("rabbitmq", "deny")
			_, _ = w.Write([]byte("deny"))
			return
		}
		ok, why := h(r)
		if !ok {
			b.metrics.Decision("rabbitmq", "deny")
			b.log.InfoContext(r.Context(), "rabbitmq "+check+" denied", "username", r.Form.Get("username"),
				"vhost", r.Form.Get("vhost"), "resource", r.Form.Get("resource"), "name", r.Form.Get("name"),
				"permission", r.Form.Get("permission"), "routing_key", r.Form.Get("routing_key"), "why", why)
			_, _ = w.Write([]byte("deny"))
			return
		}
		b.metrics.Decision("rabbitmq", "allow")
		_, _ = w.Write([]byte("allow"))
	}
}

// user verifies the password (a token) and remembers what it grants.
func (b *Backend) user(r *http.Request) (bool, string) {
	name, pass := r.Form.Get("username"), r.Form.Get("password")
	if name == "" || pass == "" {
		return false, "username and password are required"
	}
	caller, err := b.resolve.Token(pass)
	if err != nil {
		return false, err.Error()
	}
	sub := caller.Identity.Subject
	if !b.cfg.AnyUsername && name != sub && !strings.HasPrefix(name, sub+"/") {
		return false, "the user name is not the token's subject"
	}
	if err := b.users.Put(r.Context(), name, caller.Grants, caller.Identity.SessionID, caller.ExpiresAt); err != nil {
		return false, "could not record the verification: " + err.Error()
	}
	return true, ""
}

// known returns the grants a live user check verified for the request's
// user name; why says what is missing otherwise.
func (b *Backend) known(r *http.Request) (grants policy.Grants, why string) {
	name := r.Form.Get("username")
	if name == "" {
		return policy.Grants{}, "username is required"
	}
	grants, ok, err := b.users.Get(r.Context(), name)
	if err != nil {
		return policy.Grants{}, "could not read the verification: " + err.Error()
	}
	if !ok {
		return policy.Grants{}, "no live verification for this user (expired, revoked, or checked on a node that does not share them)"
	}
	if r.Form.Get("vhost") != b.cfg.Vhost {
		return policy.Grants{}, "not the configured vhost"
	}
	return grants, ""
}

func (b *Backend) vhost(r *http.Request) (bool, string) {
	_, why := b.known(r)
	return why == "", why
}

// Queues MQTT and STOMP name for their subscriptions, and server-named ones.
var ownQueuePrefixes = []string{"mqtt-subscription-", "stomp-subscription-", "amq.gen-"}

// resource allows what MQTT and STOMP clients need and nothing else:
// writing to and reading (binding) from amq.topic, whose routing keys the
// topic check decides, and the server-named subscription queues.
func (b *Backend) resource(r *http.Request) (bool, string) {
	if _, why := b.known(r); why != "" {
		return false, why
	}
	kind, name, perm := r.Form.Get("resource"), r.Form.Get("name"), r.Form.Get("permission")
	switch kind {
	case "exchange":
		if name == "amq.topic" && (perm == "write" || perm == "read") {
			return true, ""
		}
		return false, "only amq.topic may be written or bound"
	case "queue":
		for _, p := range ownQueuePrefixes {
			if strings.HasPrefix(name, p) && len(name) > len(p) {
				if perm == "configure" || perm == "read" || perm == "write" {
					return true, ""
				}
			}
		}
		return false, "only the server-named subscription queues"
	}
	return false, "unknown resource"
}

// topic decides a routing key on amq.topic from the policy: write is
// publishing on the channel the key names; read is subscribing to
// everything the key (an AMQP topic pattern) can match.
func (b *Backend) topic(r *http.Request) (bool, string) {
	grants, why := b.known(r)
	if why != "" {
		return false, why
	}
	if r.Form.Get("resource") != "topic" || r.Form.Get("name") != "amq.topic" {
		return false, "only topics of amq.topic"
	}
	key := r.Form.Get("routing_key")
	switch r.Form.Get("permission") {
	case "write":
		if strings.ContainsAny(key, "*#") || key == "" {
			return false, "a publish names one channel"
		}
		if grants.CanPublish(key) {
			return true, ""
		}
		return false, "not granted"
	case "read":
		variants, ok := topicVariants(key)
		if !ok {
			return false, "a routing key pattern too complex to check"
		}
		want := policy.Grants{Subscribe: variants}
		if got := grants.Narrow(want); len(got.Subscribe) == len(variants) {
			return true, ""
		}
		return false, "not every channel the pattern matches is granted"
	}
	return false, "unknown permission"
}

// topicVariants turns an AMQP topic pattern into policy globs that
// together cover at least everything it matches: `*` (one word) and `#`
// (any words) become the policy's `*` (any run), and because `#` also
// matches no word, each `#` also gives the variant without it. More than
// three `#` are refused rather than expanded.
func topicVariants(key string) ([]string, bool) {
	if key == "" {
		return nil, false
	}
	words := strings.Split(key, ".")
	hashes := 0
	for _, w := range words {
		if w == "#" {
			hashes++
		} else if w == "" || (strings.ContainsAny(w, "*#") && w != "*") {
			return nil, false
		}
	}
	if hashes > 3 {
		return nil, false
	}
	var out []string
	for mask := 0; mask < 1<<hashes; mask++ {
		var parts []string
		h := 0
		for _, w := range words {
			switch w {
			case "#":
				if mask&(1<<h) == 0 {
					parts = append(parts, "*")
				}
				h++
			default:
				parts = append(parts, w)
			}
		}
		if len(parts) == 0 {
			continue // "#" alone with no words: nothing to add beyond "*"
		}
		out = append(out, strings.Join(parts, "."))
	}
	return out, true
}
