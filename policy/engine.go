package policy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Condition is a rule's `when`: every condition that is set must hold, and a
// Condition with nothing set holds for every identity, anonymous ones
// included. A nil or empty list or map is a condition not set.
type Condition struct {
	// Authenticated, when set, requires the identity to be authenticated
	// (true) or anonymous (false).
	Authenticated *bool
	// Anonymous, when set, requires Identity.Anonymous to equal it.
	Anonymous *bool
	// Role requires the identity to have any of these roles.
	Role []string
	// Group requires the identity to be in any of these groups.
	Group []string
	// Provider requires the identity to come from any of these providers.
	Provider []string
	// EmailDomain requires the part of the e-mail address after its last "@"
	// to equal any of these domains, ignoring case; "@example.com" may be
	// written for "example.com". Subdomains do not match.
	EmailDomain []string
	// Claim maps dotted claim paths (see Identity.Claim) to the value each
	// must have, compared as strings (numbers in plain decimal, booleans as
	// "true"/"false"); a claim holding an array matches when any element
	// does. A missing claim never matches.
	Claim map[string]string
}

// Rule grants Subscribe and Publish patterns to the identities its When
// matches.
type Rule struct {
	// When says which identities the rule applies to.
	When Condition
	// Subscribe lists the patterns the rule lets them subscribe to.
	Subscribe []string
	// Publish lists the patterns the rule lets them publish on.
	Publish []string
}

// Config is the policy section of the configuration.
type Config struct {
	// Anonymous grants its Subscribe and Publish patterns to every anonymous
	// identity; its When is ignored.
	Anonymous Rule
	// Rules are evaluated for every identity, anonymous or not; the grants
	// of all matching rules add up.
	Rules []Rule
}

// Engine evaluates a compiled Config. It is immutable and safe for concurrent
// use.
type Engine struct {
	anonymous compiledRule
	rules     []compiledRule
}

type compiledRule struct {
	when      compiledCondition
	subscribe []pattern
	publish   []pattern
}

type claimCondition struct {
	path, value string
}

type compiledCondition struct {
	authenticated, anonymous *bool
	roles, groups, providers []string
	emailDomains             []string
	claims                   []claimCondition
}

// New validates cfg and compiles it. Every problem found is reported, each
// as a *ConfigError naming its field (`rules[2].subscribe[0]: unknown
// template "{foo}"`), joined into one error that wraps ErrInvalidConfig.
func New(cfg Config) (*Engine, error) {
	var errs []error
	fail := func(field, reason string) {
		errs = append(errs, &ConfigError{Field: field, Reason: reason})
	}
	e := &Engine{
		anonymous: compiledRule{
			subscribe: compilePatterns("anonymous.subscribe", cfg.Anonymous.Subscribe, fail),
			publish:   compilePatterns("anonymous.publish", cfg.Anonymous.Publish, fail),
		},
		rules: make([]compiledRule, len(cfg.Rules)),
	}
	for i, r := range cfg.Rules {
		prefix := "rules[" + strconv.Itoa(i) + "]"
		e.rules[i] = compiledRule{
			when:      compileCondition(prefix+".when", r.When, fail),
			subscribe: compilePatterns(prefix+".subscribe", r.Subscribe, fail),
			publish:   compilePatterns(prefix+".publish", r.Publish, fail),
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

func compilePatterns(field string, raws []string, fail func(field, reason string)) []pattern {
	out := make([]pattern, 0, len(raws))
	for i, raw := range raws {
		p, why := compilePattern(raw)
		if why != "" {
			fail(field+"["+strconv.Itoa(i)+"]", why)
			continue
		}
		out = append(out, p)
	}
	return out
}

func compileCondition(field string, c Condition, fail func(field, reason string)) compiledCondition {
	cc := compiledCondition{
		authenticated: c.Authenticated,
		anonymous:     c.Anonymous,
		roles:         nonEmpty(field+".role", c.Role, fail),
		groups:        nonEmpty(field+".group", c.Group, fail),
		providers:     nonEmpty(field+".provider", c.Provider, fail),
	}
	for i, d := range c.EmailDomain {
		d = strings.ToLower(strings.TrimPrefix(d, "@"))
		if d == "" || strings.ContainsAny(d, "@ \t\r\n") {
			fail(fmt.Sprintf("%s.email_domain[%d]", field, i), "invalid e-mail domain "+strconv.Quote(c.EmailDomain[i]))
			continue
		}
		cc.emailDomains = append(cc.emailDomains, d)
	}
	paths := make([]string, 0, len(c.Claim))
	for p := range c.Claim {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		if !validClaimPath(p) {
			fail(fmt.Sprintf("%s.claim[%q]", field, p), "invalid claim path")
			continue
		}
		cc.claims = append(cc.claims, claimCondition{path: p, value: c.Claim[p]})
	}
	return cc
}

func nonEmpty(field string, vals []string, fail func(field, reason string)) []string {
	for i, v := range vals {
		if v == "" {
			fail(field+"["+strconv.Itoa(i)+"]", "empty value")
		}
	}
	return slices.Clone(vals)
}

// matches reports whether every condition set in c holds for id.
func (c *compiledCondition) matches(id *Identity) bool {
	if c.authenticated != nil && *c.authenticated == id.Anonymous {
		return false
	}
	if c.anonymous != nil && *c.anonymous != id.Anonymous {
		return false
	}
	if len(c.roles) > 0 && !anyIn(c.roles, id.Roles) {
		return false
	}
	if len(c.groups) > 0 && !anyIn(c.groups, id.Groups) {
		return false
	}
	if len(c.providers) > 0 && !slices.Contains(c.providers, id.Provider) {
		return false
	}
	if len(c.emailDomains) > 0 && !emailDomainIn(id.Email, c.emailDomains) {
		return false
	}
	for _, cl := range c.claims {
		v, ok := lookupClaim(id.Claims, cl.path)
		if !ok || !claimEquals(v, cl.value) {
			return false
		}
	}
	return true
}

// anyIn reports whether any of want is in have.
func anyIn(want, have []string) bool {
	for _, h := range have {
		if slices.Contains(want, h) {
			return true
		}
	}
	return false
}

// emailDomainIn reports whether the domain of email (after its last "@") is
// one of domains (lower-case), ignoring case.
func emailDomainIn(email string, domains []string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 || at == len(email)-1 {
		return false
	}
	domain := email[at+1:]
	for _, d := range domains {
		if strings.EqualFold(domain, d) {
			return true
		}
	}
	return false
}

// Grants returns what id may do: for an anonymous identity the anonymous
// rule's patterns, then those of every matching rule, in order, with
// templates expanded and duplicates removed. Subscribe and Publish are never
// nil.
func (e *Engine) Grants(id Identity) Grants {
	var matchedBuf [32]*compiledRule
	matched := matchedBuf[:0]
	if id.Anonymous {
		matched = append(matched, &e.anonymous)
	}
	for i := range e.rules {
		if e.rules[i].when.matches(&id) {
			matched = append(matched, &e.rules[i])
		}
	}
	ns, np := 0, 0
	for _, r := range matched {
		ns += len(r.subscribe)
		np += len(r.publish)
	}
	// One backing array for both lists; the capped slices keep an append to
	// Subscribe (array claims) from running into Publish.
	buf := make([]string, 0, ns+np)
	sub := nameList{names: buf[0:0:ns]}
	pub := nameList{names: buf[ns : ns : ns+np]}
	for _, r := range matched {
		for i := range r.subscribe {
			r.subscribe[i].expand(&id, &sub)
		}
		for i := range r.publish {
			r.publish[i].expand(&id, &pub)
		}
	}
	return Grants{Subscribe: sub.names, Publish: pub.names}
}

// linearDedupe is the list length up to which nameList scans instead of
// keeping a set.
const linearDedupe = 32

// nameList collects names in order, without duplicates.
type nameList struct {
	names []string
	seen  map[string]struct{}
}

func (l *nameList) add(s string) {
	if l.seen == nil {
		if !slices.Contains(l.names, s) {
			l.names = append(l.names, s)
			if len(l.names) > linearDedupe {
				l.seen = make(map[string]struct{}, 2*len(l.names))
				for _, n := range l.names {
					l.seen[n] = struct{}{}
				}
			}
		}
		return
	}
	if _, dup := l.seen[s]; !dup {
		l.seen[s] = struct{}{}
		l.names = append(l.names, s)
	}
}
