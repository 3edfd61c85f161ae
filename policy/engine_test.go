package policy

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func ptr(b bool) *bool { return &b }

// mustNew compiles cfg or stops the test.
func mustNew(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func TestConditions(t *testing.T) {
	ada := Identity{
		Subject:  "auth0|42",
		Name:     "Ada",
		Email:    "ada@Example.COM",
		Provider: "auth0",
		Roles:    []string{"member", "admin"},
		Groups:   []string{"eng"},
		Claims: map[string]any{
			"org":                       map[string]any{"id": "acme", "tier": float64(3), "beta": true},
			"teams":                     []any{"red", "blue", float64(7)},
			"https://example.com/roles": []any{"editor"},
			"ids":                       []string{"x", "y"},
		},
	}
	anon := Identity{Subject: "anon:xyz", Anonymous: true}
	tests := []struct {
		name string
		when Condition
		id   Identity
		want bool
	}{
		{"empty matches authenticated", Condition{}, ada, true},
		{"empty matches anonymous", Condition{}, anon, true},
		{"authenticated true", Condition{Authenticated: ptr(true)}, ada, true},
		{"authenticated true, anonymous caller", Condition{Authenticated: ptr(true)}, anon, false},
		{"authenticated false, anonymous caller", Condition{Authenticated: ptr(false)}, anon, true},
		{"authenticated false, authenticated caller", Condition{Authenticated: ptr(false)}, ada, false},
		{"anonymous true", Condition{Anonymous: ptr(true)}, anon, true},
		{"anonymous true, authenticated caller", Condition{Anonymous: ptr(true)}, ada, false},
		{"anonymous false", Condition{Anonymous: ptr(false)}, ada, true},
		{"role any of", Condition{Role: []string{"owner", "admin"}}, ada, true},
		{"role missing", Condition{Role: []string{"owner"}}, ada, false},
		{"role is case-sensitive", Condition{Role: []string{"Admin"}}, ada, false},
		{"role, no roles", Condition{Role: []string{"admin"}}, anon, false},
		{"group", Condition{Group: []string{"eng"}}, ada, true},
		{"group missing", Condition{Group: []string{"ops"}}, ada, false},
		{"role does not satisfy group", Condition{Group: []string{"admin"}}, ada, false},
		{"provider", Condition{Provider: []string{"keycloak", "auth0"}}, ada, true},
		{"provider missing", Condition{Provider: []string{"keycloak"}}, ada, false},
		{"provider, anonymous caller", Condition{Provider: []string{"auth0"}}, anon, false},
		{"email domain ignores case", Condition{EmailDomain: []string{"example.com"}}, ada, true},
		{"email domain upper-case config", Condition{EmailDomain: []string{"EXAMPLE.com"}}, ada, true},
		{"email domain with @", Condition{EmailDomain: []string{"@example.com"}}, ada, true},
		{"email domain other", Condition{EmailDomain: []string{"example.org"}}, ada, false},
		{"email subdomain does not match", Condition{EmailDomain: []string{"example.com"}}, Identity{Email: "a@mail.example.com"}, false},
		{"email parent domain does not match", Condition{EmailDomain: []string{"mail.example.com"}}, Identity{Email: "a@example.com"}, false},
		{"email last @ counts", Condition{EmailDomain: []string{"example.com"}}, Identity{Email: `"a@evil.com"@example.com`}, true},
		{"email suffix trick", Condition{EmailDomain: []string{"example.com"}}, Identity{Email: "a@evilexample.com"}, false},
		{"no email", Condition{EmailDomain: []string{"example.com"}}, anon, false},
		{"email without domain", Condition{EmailDomain: []string{"example.com"}}, Identity{Email: "example.com@"}, false},
		{"claim nested string", Condition{Claim: map[string]string{"org.id": "acme"}}, ada, true},
		{"claim nested string mismatch", Condition{Claim: map[string]string{"org.id": "other"}}, ada, false},
		{"claim number", Condition{Claim: map[string]string{"org.tier": "3"}}, ada, true},
		{"claim number not 3.0", Condition{Claim: map[string]string{"org.tier": "3.0"}}, ada, false},
		{"claim bool", Condition{Claim: map[string]string{"org.beta": "true"}}, ada, true},
		{"claim array any element", Condition{Claim: map[string]string{"teams": "blue"}}, ada, true},
		{"claim array number element", Condition{Claim: map[string]string{"teams": "7"}}, ada, true},
		{"claim array no element", Condition{Claim: map[string]string{"teams": "green"}}, ada, false},
		{"claim string array", Condition{Claim: map[string]string{"ids": "y"}}, ada, true},
		{"claim key with dots", Condition{Claim: map[string]string{"https://example.com/roles": "editor"}}, ada, true},
		{"claim missing", Condition{Claim: map[string]string{"org.name": "acme"}}, ada, false},
		{"claim object is no value", Condition{Claim: map[string]string{"org": "acme"}}, ada, false},
		{"claim, nil claims", Condition{Claim: map[string]string{"org.id": "acme"}}, anon, false},
		{"all claims must hold", Condition{Claim: map[string]string{"org.id": "acme", "teams": "green"}}, ada, false},
		{"combination holds", Condition{Authenticated: ptr(true), Role: []string{"admin"}, Provider: []string{"auth0"}, EmailDomain: []string{"example.com"}, Claim: map[string]string{"org.id": "acme"}}, ada, true},
		{"combination, one fails", Condition{Authenticated: ptr(true), Role: []string{"admin"}, Provider: []string{"keycloak"}}, ada, false},
		{"empty lists are no condition", Condition{Role: []string{}, Group: []string{}, Provider: []string{}, EmailDomain: []string{}, Claim: map[string]string{}}, anon, true},
		{"anonymous with role", Condition{Anonymous: ptr(true), Role: []string{"admin"}}, Identity{Anonymous: true, Roles: []string{"admin"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustNew(t, Config{Rules: []Rule{{When: tt.when, Subscribe: []string{"granted"}}}})
			got := e.Grants(tt.id).CanSubscribe("granted")
			if got != tt.want {
				t.Errorf("rule applies = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGrants(t *testing.T) {
	cfg := Config{
		Anonymous: Rule{Subscribe: []string{"public-*"}},
		Rules: []Rule{
			{
				When:      Condition{Authenticated: ptr(true)},
				Subscribe: []string{"public-*", "private-chat", "presence-lobby", "private-user-{sub}"},
				Publish:   []string{"private-chat"},
			},
			{When: Condition{Role: []string{"admin"}}, Subscribe: []string{"*"}, Publish: []string{"*", "private-chat"}},
			{When: Condition{Anonymous: ptr(true)}, Subscribe: []string{"public-anon", "public-*"}, Publish: []string{"public-anon"}},
			{When: Condition{Group: []string{"nobody"}}, Subscribe: []string{"never"}},
		},
	}
	e := mustNew(t, cfg)
	tests := []struct {
		name string
		id   Identity
		want Grants
	}{
		{
			"member",
			Identity{Subject: "auth0|42", Roles: []string{"member"}},
			Grants{Subscribe: []string{"public-*", "private-chat", "presence-lobby", "private-user-auth0=7C42"}, Publish: []string{"private-chat"}},
		},
		{
			"admin adds up, no duplicates, stable order",
			Identity{Subject: "u1", Roles: []string{"admin"}},
			Grants{Subscribe: []string{"public-*", "private-chat", "presence-lobby", "private-user-u1", "*"}, Publish: []string{"private-chat", "*"}},
		},
		{
			"anonymous gets the anonymous rule and matching rules",
			Identity{Subject: "anon:xyz", Anonymous: true},
			Grants{Subscribe: []string{"public-*", "public-anon"}, Publish: []string{"public-anon"}},
		},
		{
			"authenticated does not get the anonymous rule",
			Identity{Subject: "u2", Roles: []string{"admin"}, Groups: []string{"x"}},
			Grants{Subscribe: []string{"public-*", "private-chat", "presence-lobby", "private-user-u2", "*"}, Publish: []string{"private-chat", "*"}},
		},
		{
			"empty subject drops the template pattern only",
			Identity{},
			Grants{Subscribe: []string{"public-*", "private-chat", "presence-lobby"}, Publish: []string{"private-chat"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.Grants(tt.id)
			if !slices.Equal(got.Subscribe, tt.want.Subscribe) || !slices.Equal(got.Publish, tt.want.Publish) {
				t.Errorf("Grants = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestGrantsNeverNil(t *testing.T) {
	got := mustNew(t, Config{}).Grants(Identity{Subject: "u"})
	b, err := json.Marshal(got)
	if err != nil || string(b) != `{"Subscribe":[],"Publish":[]}` {
		t.Errorf("json.Marshal(Grants) = %s, %v, want empty arrays", b, err)
	}
}

func TestTemplates(t *testing.T) {
	claims := map[string]any{
		"org":    map[string]any{"id": "acme", "slug": "a*b", "n": float64(12), "big": float64(1e21), "nested": map[string]any{"x": "y"}},
		"teams":  []any{"red", "blue", "red", "", map[string]any{}, float64(2)},
		"one":    []any{"solo"},
		"none":   []any{},
		"blank":  "",
		"nul":    nil,
		"two":    []string{"p", "q"},
		"a.b":    "dotted-key",
		"a":      map[string]any{"b": "nested-key"},
		"many":   manyValues(MaxExpansions + 1),
		"enough": manyValues(MaxExpansions),
	}
	tests := []struct {
		name    string
		pattern string
		id      Identity
		want    []string
	}{
		{"sub", "private-user-{sub}", Identity{Subject: "alice"}, []string{"private-user-alice"}},
		{"sub escaped", "private-user-{sub}", Identity{Subject: "auth0|42"}, []string{"private-user-auth0=7C42"}},
		{"sub star cannot widen", "private-user-{sub}", Identity{Subject: "*"}, []string{"private-user-=2A"}},
		{"sub dash-star cannot widen", "private-user-{sub}", Identity{Subject: "x-*"}, []string{"private-user-x-=2A"}},
		{"sub braces stay literal", "private-user-{sub}", Identity{Subject: "{sub}"}, []string{"private-user-=7Bsub=7D"}},
		{"sub equals escaped", "private-user-{sub}", Identity{Subject: "a=2A"}, []string{"private-user-a=3D2A"}},
		{"sub unicode", "u-{sub}", Identity{Subject: "zoë"}, []string{"u-zo=C3=AB"}},
		{"sub anonymous", "u-{sub}", Identity{Subject: "anon:k3"}, []string{"u-anon=3Ak3"}},
		{"empty sub drops", "private-user-{sub}", Identity{}, nil},
		{"name", "n-{name}", Identity{Name: "Ada Lovelace"}, []string{"n-Ada=20Lovelace"}},
		{"email", "e-{email}", Identity{Email: "ada@example.com"}, []string{"e-ada@example.com"}},
		{"provider", "p-{provider}", Identity{Provider: "auth0"}, []string{"p-auth0"}},
		{"missing provider drops", "p-{provider}", Identity{}, nil},
		{"template only", "{sub}", Identity{Subject: "s"}, []string{"s"}},
		{"two templates", "{provider}-{sub}-x", Identity{Subject: "s", Provider: "kc"}, []string{"kc-s-x"}},
		{"template next to star", "org-{sub}-*", Identity{Subject: "*"}, []string{"org-=2A-*"}},
		{"claim nested", "org-{claim.org.id}", Identity{Claims: claims}, []string{"org-acme"}},
		{"claim escaped", "org-{claim.org.slug}", Identity{Claims: claims}, []string{"org-a=2Ab"}},
		{"claim number", "n-{claim.org.n}", Identity{Claims: claims}, []string{"n-12"}},
		{"claim big number in plain decimal", "n-{claim.org.big}", Identity{Claims: claims}, []string{"n-1000000000000000000000"}},
		{"claim object drops", "o-{claim.org.nested}", Identity{Claims: claims}, nil},
		{"claim missing drops", "o-{claim.org.nope}", Identity{Claims: claims}, nil},
		{"claim empty string drops", "o-{claim.blank}", Identity{Claims: claims}, nil},
		{"claim null drops", "o-{claim.nul}", Identity{Claims: claims}, nil},
		{"claim nil claims drops", "o-{claim.org.id}", Identity{}, nil},
		{"claim array expands, skipping empty and objects", "team-{claim.teams}", Identity{Claims: claims}, []string{"team-red", "team-blue", "team-2"}},
		{"claim array of one", "t-{claim.one}", Identity{Claims: claims}, []string{"t-solo"}},
		{"claim empty array drops", "t-{claim.none}", Identity{Claims: claims}, nil},
		{"claim string array", "t-{claim.two}", Identity{Claims: claims}, []string{"t-p", "t-q"}},
		{"claim arrays multiply", "{claim.two}-{sub}-{claim.two}", Identity{Subject: "s", Claims: claims}, []string{"p-s-p", "p-s-q", "q-s-p", "q-s-q"}},
		{"claim dotted key preferred", "k-{claim.a.b}", Identity{Claims: claims}, []string{"k-dotted-key"}},
		{"expansion at the limit", "m-{claim.enough}", Identity{Claims: claims}, manyNames("m-", MaxExpansions)},
		{"expansion over the limit drops", "m-{claim.many}", Identity{Claims: claims}, nil},
		{"product over the limit drops", "m-{claim.enough}-{claim.two}", Identity{Claims: claims}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustNew(t, Config{Rules: []Rule{{Subscribe: []string{"fixed", tt.pattern}, Publish: []string{tt.pattern}}}})
			got := e.Grants(tt.id)
			want := append([]string{"fixed"}, tt.want...)
			if !slices.Equal(got.Subscribe, want) {
				t.Errorf("Subscribe = %q, want %q", got.Subscribe, want)
			}
			if !slices.Equal(got.Publish, want[1:]) {
				t.Errorf("Publish = %q, want %q", got.Publish, want[1:])
			}
		})
	}
}

func manyValues(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = float64(i)
	}
	return out
}

func manyNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + string(appendInt(nil, i))
	}
	return out
}

func appendInt(b []byte, i int) []byte {
	s, _ := appendScalar(b, i)
	return s
}

func TestGrantsManyDuplicates(t *testing.T) {
	// More patterns than the linear de-duplication handles, repeated.
	var pats []string
	for i := range 3 * linearDedupe {
		pats = append(pats, "c-"+string(appendInt(nil, i%(2*linearDedupe))))
	}
	e := mustNew(t, Config{Rules: []Rule{{Subscribe: pats}, {Subscribe: pats}}})
	got := e.Grants(Identity{}).Subscribe
	if want := manyNames("c-", 2*linearDedupe); !slices.Equal(got, want) {
		t.Errorf("Subscribe = %q, want %q", got, want)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"unknown template", Config{Rules: []Rule{{}, {}, {Subscribe: []string{"{foo}"}}}}, []string{`policy: rules[2].subscribe[0]: unknown template "{foo}"`}},
		{"empty claim path", Config{Rules: []Rule{{Publish: []string{"ok", "x-{claim.}"}}}}, []string{`policy: rules[0].publish[1]: invalid claim path in template "{claim.}"`}},
		{"claim path with empty step", Config{Rules: []Rule{{Publish: []string{"{claim.a..b}"}}}}, []string{`policy: rules[0].publish[0]: invalid claim path in template "{claim.a..b}"`}},
		{"bare claim", Config{Rules: []Rule{{Publish: []string{"{claim}"}}}}, []string{`policy: rules[0].publish[0]: unknown template "{claim}"`}},
		{"empty template", Config{Rules: []Rule{{Publish: []string{"a{}"}}}}, []string{`policy: rules[0].publish[0]: unknown template "{}"`}},
		{"template is case-sensitive", Config{Rules: []Rule{{Publish: []string{"{SUB}"}}}}, []string{`policy: rules[0].publish[0]: unknown template "{SUB}"`}},
		{"unclosed brace", Config{Anonymous: Rule{Subscribe: []string{"a-{sub"}}}, []string{`policy: anonymous.subscribe[0]: unclosed "{" in "a-{sub"`}},
		{"nested brace", Config{Anonymous: Rule{Subscribe: []string{"{{sub}}"}}}, []string{`policy: anonymous.subscribe[0]: unclosed "{" in "{{sub}}"`}},
		{"stray close brace", Config{Anonymous: Rule{Publish: []string{"a}"}}}, []string{`policy: anonymous.publish[0]: unexpected "}" in "a}"`}},
		{"empty pattern", Config{Rules: []Rule{{Subscribe: []string{""}}}}, []string{`policy: rules[0].subscribe[0]: empty pattern`}},
		{"space in pattern", Config{Rules: []Rule{{Subscribe: []string{"a b"}}}}, []string{`policy: rules[0].subscribe[0]: pattern "a b" contains a space or control character`}},
		{"control character", Config{Rules: []Rule{{Subscribe: []string{"a\x00"}}}}, []string{`policy: rules[0].subscribe[0]: pattern "a\x00" contains a space or control character`}},
		{"invalid UTF-8", Config{Rules: []Rule{{Subscribe: []string{"a\xff"}}}}, []string{`policy: rules[0].subscribe[0]: pattern "a\xff" is not valid UTF-8`}},
		{"empty role", Config{Rules: []Rule{{When: Condition{Role: []string{"a", ""}}}}}, []string{`policy: rules[0].when.role[1]: empty value`}},
		{"empty group", Config{Rules: []Rule{{When: Condition{Group: []string{""}}}}}, []string{`policy: rules[0].when.group[0]: empty value`}},
		{"empty provider", Config{Rules: []Rule{{When: Condition{Provider: []string{""}}}}}, []string{`policy: rules[0].when.provider[0]: empty value`}},
		{"bad email domain", Config{Rules: []Rule{{When: Condition{EmailDomain: []string{"@"}}}}}, []string{`policy: rules[0].when.email_domain[0]: invalid e-mail domain "@"`}},
		{"email address as domain", Config{Rules: []Rule{{When: Condition{EmailDomain: []string{"a@b.c"}}}}}, []string{`policy: rules[0].when.email_domain[0]: invalid e-mail domain "a@b.c"`}},
		{"bad claim condition", Config{Rules: []Rule{{When: Condition{Claim: map[string]string{"a.": "x"}}}}}, []string{`policy: rules[0].when.claim["a."]: invalid claim path`}},
		{
			"every problem reported",
			Config{Rules: []Rule{{Subscribe: []string{"{x}"}, Publish: []string{"{y}"}}, {When: Condition{Claim: map[string]string{"": "x", ".b": "y"}}}}},
			[]string{
				`policy: rules[0].subscribe[0]: unknown template "{x}"`,
				`policy: rules[0].publish[0]: unknown template "{y}"`,
				`policy: rules[1].when.claim[""]: invalid claim path`,
				`policy: rules[1].when.claim[".b"]: invalid claim path`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.cfg)
			if err == nil || e != nil {
				t.Fatalf("New = %v, %v, want an error", e, err)
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, tt.want) {
				t.Errorf("New error = %q, want %q", got, tt.want)
			}
			var ce *ConfigError
			if !errors.Is(err, ErrInvalidConfig) || !errors.As(err, &ce) {
				t.Errorf("New error %v does not wrap ErrInvalidConfig and a *ConfigError", err)
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	cfg := Config{
		Anonymous: Rule{Subscribe: []string{"public-*"}, When: Condition{Role: []string{""}}}, // When is ignored
		Rules: []Rule{{
			When:      Condition{Claim: map[string]string{"https://example.com/roles": "x", "realm_access.roles": "y"}},
			Subscribe: []string{"*", "#cache-*", "priv/*", "a:b", "{claim.https://example.com/roles}", "{sub}{name}{email}{provider}"},
		}},
	}
	if _, err := New(cfg); err != nil {
		t.Errorf("New: %v", err)
	}
}

func TestIdentityClaim(t *testing.T) {
	id := Identity{Claims: map[string]any{
		"realm_access":              map[string]any{"roles": []any{"admin"}},
		"https://example.com/roles": []any{"editor"},
		"a":                         map[string]any{"b.c": "deep-dotted", "b": map[string]any{"d": "deep"}},
		"x":                         "scalar",
	}}
	tests := []struct {
		path string
		want any
		ok   bool
	}{
		{"realm_access.roles", []any{"admin"}, true},
		{"https://example.com/roles", []any{"editor"}, true},
		{"a.b.c", "deep-dotted", true},
		{"a.b.d", "deep", true},
		{"x", "scalar", true},
		{"x.y", nil, false},
		{"missing", nil, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, ok := id.Claim(tt.path)
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(tt.want)
			if ok != tt.ok || string(gb) != string(wb) {
				t.Errorf("Claim(%q) = %s, %v, want %s, %v", tt.path, gb, ok, wb, tt.ok)
			}
		})
	}
}
