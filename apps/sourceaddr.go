package apps

import (
	"fmt"
	"net/netip"
	"strings"
)

// maxRules is the most source-address entries an app may list.
const maxRules = 10

// rules is a parsed source-address list: an address is allowed when it
// matches no exclusion and, if any inclusion is listed, at least one
// inclusion. An empty list allows everyone.
type rules struct {
	allow []netip.Prefix
	deny  []netip.Prefix
}

func parseRules(list []string) (rules, error) {
	var r rules
	if len(list) > maxRules {
		return r, fmt.Errorf("apps: at most %d source addresses, got %d", maxRules, len(list))
	}
	for _, s := range list {
		neg := strings.HasPrefix(s, "!")
		s = strings.TrimSpace(strings.TrimPrefix(s, "!"))
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
			p = p.Masked()
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(s)
			if err == nil {
				a = a.Unmap()
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return r, fmt.Errorf("apps: source address %q: %w", s, err)
		}
		if neg {
			r.deny = append(r.deny, p)
		} else {
			r.allow = append(r.allow, p)
		}
	}
	return r, nil
}

// allows reports whether ip (as text) passes the rules; an unparsable
// address passes only an empty list.
func (r rules) allows(ip string) bool {
	if len(r.allow) == 0 && len(r.deny) == 0 {
		return true
	}
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range r.deny {
		if p.Contains(a) {
			return false
		}
	}
	if len(r.allow) == 0 {
		return true
	}
	for _, p := range r.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
