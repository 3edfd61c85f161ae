package main

import (
	"strings"
	"testing"

	"gatehouse/config"
	"gatehouse/policy"
)

func TestDemoPolicyGaps(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"dev default", "", nil},
		{"operator policy without the demo channel", `policy: {anonymous: {subscribe: ["public-*", "news"]}}`,
			[]string{"anonymous visitors subscribe", "logged-in visitors subscribe"}},
		{"read only", `policy: {anonymous: {subscribe: ["presence-*"]}, rules: [{when: {authenticated: true}, subscribe: ["*"], publish: ["*"]}]}`,
			[]string{"anonymous visitors publish"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tc.doc), config.Dev, func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			pol, err := policy.New(policyConfig(cfg.Policy))
			if err != nil {
				t.Fatal(err)
			}
			got := demoPolicyGaps(pol)
			if len(got) != len(tc.want) {
				t.Fatalf("gaps %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("gap %q does not say %q", got[i], w)
				}
			}
		})
	}
}
