// Package frontstest holds what the tests of every front share: the
// identities and policy they decide for, a session table, requests through
// a front's route table, and golden files of its answers.
package frontstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"gatehouse/authn/authntest"
	"gatehouse/internal/httpx"
	"gatehouse/policy"
)

// Identities the fronts' tests decide for.
var (
	Ada   = policy.Identity{Subject: "auth0|42", Name: "Ada", Roles: []string{"member"}, Groups: []string{"eng"}, Provider: "auth0", SessionID: "sid-ada"}
	Admin = policy.Identity{Subject: "root", Name: "Root", Roles: []string{"admin"}, SessionID: "sid-root"}
	// Ten is the user of Pusher's published presence vector.
	Ten = policy.Identity{Subject: "10", Name: "Mr. Channels", SessionID: "sid-10"}
	// Signer is the user of Pusher's published user-authentication vector.
	// It has no session id: a session's id is carried in the user data (for
	// the socket to be bound at signin), which would change the vector.
	Signer = policy.Identity{Subject: "12345"}
)

// Sessions are the session cookies of the identities: "gatehouse=ada",
// "root", "ten", "signer"; any other gatehouse cookie is broken.
var Sessions = authntest.Sessions{"ada": Ada, "root": Admin, "ten": Ten, "signer": Signer}

func boolPtr(b bool) *bool { return &b }

// Policy is the policy the fronts' tests decide with.
var Policy = policy.Config{
	Anonymous: policy.Rule{Subscribe: []string{"public-*", "presence-lobby"}},
	Rules: []policy.Rule{
		{When: policy.Condition{Authenticated: boolPtr(true)},
			Subscribe: []string{"public-*", "private-chat", "presence-lobby", "presence-foobar", "private-foobar",
				"private-encrypted-foo", "private-user-{sub}"},
			Publish: []string{"private-chat"}},
		{When: policy.Condition{Role: []string{"admin"}}, Subscribe: []string{"*"}, Publish: []string{"*"}},
	},
}

// Decisions counts the decisions a front reports, per front and decision.
type Decisions struct {
	mu sync.Mutex
	n  map[string]int
}

// Decision implements the fronts' Metrics.
func (d *Decisions) Decision(front, decision string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = map[string]int{}
	}
	d.n[front+" "+decision]++
}

// Count returns how many times front decided decision.
func (d *Decisions) Count(front, decision string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[front+" "+decision]
}

// Do sends one request through a route table (httpx.Mux, client
// 192.0.2.1); hdr are header name/value pairs.
func Do(routes []httpx.Route, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = "192.0.2.1:1234"
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	httpx.Mux(routes, nil).ServeHTTP(rec, req)
	return rec
}

// DecodeError decodes the JSON error body of rec, failing the test when it
// is not one.
func DecodeError(t *testing.T, rec *httptest.ResponseRecorder) httpx.ErrorBody {
	t.Helper()
	var e httpx.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || e.Description == "" {
		t.Fatalf("not a JSON error body: %q (%v)", rec.Body.String(), err)
	}
	return e
}

var anonSubRE = regexp.MustCompile(`anon:[A-Za-z0-9_-]{22}`)

// Dump renders a response for a golden file: status, content type, and the
// body (JSON indented, random anonymous subjects replaced).
func Dump(t *testing.T, rec *httptest.ResponseRecorder) []byte {
	t.Helper()
	body := rec.Body.Bytes()
	var pretty bytes.Buffer
	if json.Valid(body) {
		if err := json.Indent(&pretty, body, "", "  "); err != nil {
			t.Fatal(err)
		}
	} else {
		pretty.Write(body)
	}
	out := fmt.Sprintf("%d %s\n%s\n", rec.Code, rec.Header().Get("Content-Type"), anonSubRE.ReplaceAllString(pretty.String(), "anon:<random>"))
	return []byte(out)
}

// CheckGolden compares got with testdata/name, rewriting the file first
// when update is set (the package's -update flag).
func CheckGolden(t *testing.T, name string, got []byte, update bool) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
