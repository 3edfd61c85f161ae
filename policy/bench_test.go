package policy

import (
	"strings"
	"testing"
)

// benchConfig is the example policy of the specification plus a claim
// template, as a realistic load.
var benchConfig = Config{
	Anonymous: Rule{Subscribe: []string{"public-*"}},
	Rules: []Rule{
		{
			When:      Condition{Authenticated: ptr(true)},
			Subscribe: []string{"public-*", "private-chat", "presence-lobby", "private-user-{sub}"},
			Publish:   []string{"private-chat"},
		},
		{When: Condition{Claim: map[string]string{"org.id": "acme"}}, Subscribe: []string{"private-org-{claim.org.id}"}},
		{When: Condition{EmailDomain: []string{"example.com"}}, Subscribe: []string{"private-staff"}},
		{When: Condition{Role: []string{"admin"}}, Subscribe: []string{"*"}, Publish: []string{"*"}},
	},
}

func BenchmarkGrants(b *testing.B) {
	e := mustNew(b, benchConfig)
	ids := []struct {
		name string
		id   Identity
	}{
		{"anonymous", Identity{Subject: "anon:9f8e7d", Anonymous: true}},
		{"member", Identity{
			Subject: "auth0|42", Email: "ada@example.com", Provider: "auth0",
			Roles: []string{"member"}, Groups: []string{"eng"},
			Claims: map[string]any{"org": map[string]any{"id": "acme"}},
		}},
		{"admin", Identity{Subject: "admin", Roles: []string{"member", "admin"}}},
	}
	for _, tt := range ids {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = e.Grants(tt.id)
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	long := strings.Repeat("ab", 100)
	cases := []struct{ name, pattern, channel string }{
		{"literal", "private-chat", "private-chat"},
		{"prefix", "public-*", "public-news-and-weather"},
		{"star", "*", "anything"},
		{"infix-miss", "*-x-*-y-*", "private-" + long},
		{"many-stars", strings.Repeat("a*", 20) + "c", long},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Match(c.pattern, c.channel)
			}
		})
	}
}
