package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The anonymous algorithms are derived from the signing keys unless
// written, and checked only when anonymous tokens are on.
func TestAnonymousAlgorithmsCombinations(t *testing.T) {
	for _, mode := range []Mode{Dev, Serve} {
		for _, signing := range []bool{true, false} {
			for _, algsWritten := range []bool{true, false} {
				for _, enabled := range []bool{true, false} {
					name := fmt.Sprintf("mode=%d signing=%v algorithms=%v enabled=%v", mode, signing, algsWritten, enabled)
					t.Run(name, func(t *testing.T) {
						doc := "server: {public_url: \"http://127.0.0.1:18999\"}\n"
						if signing {
							doc += "keys:\n  signing:\n    - {kid: a, alg: ES256, file: /etc/gatehouse/es256.pem}\n"
						} else {
							doc += "keys: {dir: /var/lib/gatehouse/keys}\n"
						}
						doc += fmt.Sprintf("tokens:\n  anonymous:\n    enabled: %v\n", enabled)
						if algsWritten {
							doc += "    algorithms: [ES256, EdDSA]\n"
						}
						c, err := Parse([]byte(doc), mode, env(nil))
						// Only a written alg that no signing key has, with
						// anonymous tokens on, is a reason to refuse.
						wantErr := signing && algsWritten && enabled
						if wantErr {
							want := `tokens.anonymous.algorithms[1] (line 8): no key in keys.signing has alg "EdDSA"`
							if err == nil || !strings.Contains(err.Error(), want) {
								t.Fatalf("err = %v, want %q", err, want)
							}
							return
						}
						if err != nil {
							t.Fatalf("refused: %v", err)
						}
						want := []string{"ES256", "EdDSA"}
						if signing && !algsWritten {
							want = []string{"ES256"}
						}
						if got := c.Tokens.Anonymous.Algorithms; !slices.Equal(got, want) {
							t.Fatalf("algorithms = %v, want %v", got, want)
						}
					})
				}
			}
		}
	}
}

// The exact config a new operator wrote: one ES256 key, nothing about
// anonymous tokens. It is valid in every mode.
func TestMinimalProductionConfig(t *testing.T) {
	doc := `server: {addr: 127.0.0.1:18999, public_url: http://127.0.0.1:18999}
keys:
  signing:
    - {kid: a, alg: ES256, file: /etc/gatehouse/es256.pem}
`
	for _, mode := range []Mode{Dev, Serve} {
		c, err := Parse([]byte(doc), mode, env(nil))
		if err != nil {
			t.Fatalf("mode %d: %v", mode, err)
		}
		if !slices.Equal(c.Tokens.Anonymous.Algorithms, []string{"ES256"}) {
			t.Fatalf("mode %d: algorithms %v", mode, c.Tokens.Anonymous.Algorithms)
		}
	}
	// The first key's algorithm comes first; HS256 never signs anonymous
	// tokens; each algorithm once.
	doc = `server: {public_url: http://127.0.0.1:18999}
keys:
  signing:
    - {kid: e, alg: EdDSA, file: /k/e.pem}
    - {kid: h, alg: HS256, file: /k/h.key}
    - {kid: a, alg: ES256, file: /k/a.pem}
    - {kid: b, alg: EdDSA, file: /k/b.pem}
`
	c, err := Parse([]byte(doc), Dev, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Tokens.Anonymous.Algorithms, []string{"EdDSA", "ES256"}) {
		t.Fatalf("algorithms %v", c.Tokens.Anonymous.Algorithms)
	}
	// Only an HS256 key: anonymous tokens on cannot be signed; off is fine.
	hsOnly := "server: {public_url: http://127.0.0.1:18999}\nkeys: {signing: [{kid: h, alg: HS256, file: /k/h.key}]}\n"
	if _, err := Parse([]byte(hsOnly), Dev, env(nil)); err == nil || !strings.Contains(err.Error(), "tokens.anonymous.algorithms: no key in keys.signing can sign anonymous tokens") {
		t.Fatalf("HS256 only with anonymous on: %v", err)
	}
	if _, err := Parse([]byte(hsOnly), Serve, env(nil)); err != nil {
		t.Fatalf("HS256 only with anonymous off: %v", err)
	}
}

// A written policy is exactly what applies: nothing of the default policy
// survives inside it.
func TestWrittenPolicyReplacesTheDefault(t *testing.T) {
	c, err := Parse([]byte(`policy: {anonymous: {subscribe: ["public-*", "news"]}}`), Dev, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Policy
	if !slices.Equal(p.Anonymous.Subscribe, []string{"public-*", "news"}) || len(p.Anonymous.Publish) != 0 || len(p.Rules) != 0 {
		t.Fatalf("policy = %+v, want only what was written", p)
	}
	// Rules alone leave no anonymous grants behind.
	c, err = Parse([]byte(minimalServe+"policy:\n  rules:\n    - {when: {role: admin}, subscribe: [\"*\"]}\n"), Serve, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Policy.Anonymous.Subscribe) != 0 || len(c.Policy.Rules) != 1 {
		t.Fatalf("policy = %+v", c.Policy)
	}
	// An empty policy grants nothing.
	c, err = Parse([]byte("policy: {}\n"), Dev, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Policy.Anonymous.Subscribe)+len(c.Policy.Anonymous.Publish)+len(c.Policy.Rules) != 0 {
		t.Fatalf("policy = %+v", c.Policy)
	}
	// Without a policy section the default stays whole.
	c, err = Parse([]byte("server: {shutdown_grace: 5s}\n"), Dev, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Policy.Rules) == 0 || !slices.Contains(c.Policy.Anonymous.Publish, "presence-lobby") {
		t.Fatalf("dev default policy lost: %+v", c.Policy)
	}
}

// Every other section: a written list replaces its default, a scalar left
// out keeps its default. This walks each section that has a default.
func TestSectionsTheOperatorWrites(t *testing.T) {
	c, err := Parse([]byte(`keys: {dir: /tmp/keys}
tokens: {anonymous: {enabled: true, algorithms: [EdDSA], rate: {per_ip: 5}}}
oidc: {redirect_allowlist: ["https://app.example.com"], session: {max_age: 1h}}
realtime: {limits: {presence_members: 5}}
server: {public_url: "https://rt.example.com", trusted_proxies: ["10.0.0.1"]}
`), Serve, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Tokens.Anonymous.Algorithms, []string{"EdDSA"}) {
		t.Fatalf("written algorithms merged with the default: %v", c.Tokens.Anonymous.Algorithms)
	}
	if c.Tokens.Anonymous.Rate.PerIP != 5 || c.Tokens.Anonymous.Rate.Per.String() != "1m0s" {
		t.Fatalf("rate %+v: a scalar left out keeps its default", c.Tokens.Anonymous.Rate)
	}
	if c.OIDC.Session.MaxAge.String() != "1h0m0s" || c.OIDC.Session.IdleTimeout.String() != "1h0m0s" {
		t.Fatalf("session %+v", c.OIDC.Session)
	}
	if !slices.Equal(c.OIDC.RedirectAllowlist, []string{"https://app.example.com"}) || !slices.Equal(c.Server.TrustedProxies, []string{"10.0.0.1"}) {
		t.Fatalf("lists %v %v", c.OIDC.RedirectAllowlist, c.Server.TrustedProxies)
	}
	if c.Realtime.Limits.PresenceMembers != 5 || c.Realtime.Limits.MaxConnections != 100000 {
		t.Fatalf("limits %+v", c.Realtime.Limits)
	}
}

// V2: serve refuses the development identity provider unless an insecure_
// switch says it is a test deployment, refuses it outright with https, and
// never skips the session keys for it.
func TestServeRefusesTheDevIdentityProvider(t *testing.T) {
	keys := `oidc: {session: {hash_keys: ["` + strings.Repeat("A", 43) + `="], block_keys: ["` + strings.Repeat("A", 43) + `="]}}` + "\n"
	for _, tc := range []struct {
		name, doc string
		mode      Mode
		want      string
	}{
		{"serve, http, no switch", "server: {public_url: http://127.0.0.1:1}\nkeys: {dir: /k}\ndev_idp: {enabled: true}\n" + keys, Serve, "dev_idp.enabled (line 3): the development identity provider lets anyone log in"},
		{"serve, https, switch", "server: {public_url: https://rt.example.com}\nkeys: {dir: /k}\ndev_idp: {enabled: true, insecure_allow_in_serve: true}\n" + keys, Serve, "refused with an https public_url"},
		{"serve, http, switch, no session keys", "server: {public_url: http://127.0.0.1:1}\nkeys: {dir: /k}\ndev_idp: {enabled: true, insecure_allow_in_serve: true}\n", Serve, "oidc.session.hash_keys: required"},
		{"serve, http, switch", "server: {public_url: http://127.0.0.1:1}\nkeys: {dir: /k}\ndev_idp: {enabled: true, insecure_allow_in_serve: true}\n" + keys, Serve, ""},
		{"dev", "dev_idp: {enabled: true}\n", Dev, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), tc.mode, env(nil))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
