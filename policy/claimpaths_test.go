package policy

import (
	"slices"
	"testing"
)

func TestClaimPaths(t *testing.T) {
	e, err := New(Config{
		Anonymous: Rule{Subscribe: []string{"public-*", "anon-{claim.tenant}"}},
		Rules: []Rule{
			{When: Condition{Claim: map[string]string{"org.id": "42", "email_verified": "true"}},
				Subscribe: []string{"org-{claim.org.id}-*", "team-{claim.teams}-{sub}"}},
			{When: Condition{Role: []string{"admin"}}, Subscribe: []string{"*"},
				Publish: []string{"{claim.https://example.com/ns}-x", "private-{claim.tenant}"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"email_verified", "https://example.com/ns", "org.id", "teams", "tenant"}
	if got := e.ClaimPaths(); !slices.Equal(got, want) {
		t.Fatalf("ClaimPaths() = %q, want %q", got, want)
	}
	empty, err := New(Config{Rules: []Rule{{Subscribe: []string{"{sub}-*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := empty.ClaimPaths(); len(got) != 0 {
		t.Fatalf("no claims read, got %q", got)
	}
}
