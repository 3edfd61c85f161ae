package centrifugo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/authn/authntest"
	"gatehouse/internal/httpx"
	"gatehouse/policy"
	"gatehouse/revocation"
)

// fakeAPI is Centrifugo's /api/disconnect: it fails the first `fail`
// calls with 500 and sends every later call's client id on got.
type fakeAPI struct {
	mu   sync.Mutex
	fail int
	got  chan string
	bad  chan string
}

func newFakeAPI(t *testing.T, fail int) (*fakeAPI, string) {
	a := &fakeAPI{fail: fail, got: make(chan string, 1000), bad: make(chan string, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			User       string `json:"user"`
			Client     string `json:"client"`
			Disconnect struct {
				Code   int    `json:"code"`
				Reason string `json:"reason"`
			} `json:"disconnect"`
		}
		if r.URL.Path != "/api/disconnect" || r.Header.Get("X-API-Key") != "api-key" ||
			json.NewDecoder(r.Body).Decode(&body) != nil || body.Disconnect.Code != disconnectRevoked || body.User == "" {
			a.bad <- fmt.Sprintf("%s %s %+v", r.URL.Path, r.Header.Get("X-API-Key"), body)
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		failing := a.fail > 0
		a.fail--
		a.mu.Unlock()
		if failing {
			http.Error(w, "unavailable", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{}`))
		a.got <- body.User + "/" + body.Client
	}))
	t.Cleanup(srv.Close)
	return a, srv.URL + "/api"
}

// next waits for the next disconnected client, with a generous deadline.
func (a *fakeAPI) next(t *testing.T) string {
	t.Helper()
	select {
	case c := <-a.got:
		return c
	case b := <-a.bad:
		t.Fatalf("malformed API call: %s", b)
	case <-time.After(10 * time.Second):
		t.Fatal("no disconnect call within 10 s")
	}
	return ""
}

func testSessions(api string, now *time.Time) *Sessions {
	s := NewSessions(api, "api-key", slog.New(slog.DiscardHandler))
	s.sleep = func(time.Duration) {}
	s.now = func() time.Time { return *now }
	return s
}

func TestSessionsBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := testSessions("http://127.0.0.1:1/api", &now)
	end := now.Add(time.Hour)
	// One login opening connection after connection keeps only its newest.
	for i := range 1000 {
		s.Add("sid-a", "ada", fmt.Sprint("c", i), end)
	}
	if n := s.len(); n != maxClientsPerSession {
		t.Fatalf("one session holds %d clients, want %d", n, maxClientsPerSession)
	}
	if cs := s.bySID["sid-a"]; cs[len(cs)-1].id != "c999" || cs[0].id != fmt.Sprint("c", 1000-maxClientsPerSession) {
		t.Fatalf("kept %s..%s, want the newest", cs[0].id, cs[len(cs)-1].id)
	}
	// The same client connecting again is one entry.
	s.Add("sid-a", "ada", "c999", end)
	if n := s.len(); n != maxClientsPerSession {
		t.Fatalf("a repeated client id counted twice: %d", n)
	}
	// Many sessions: bounded overall, the oldest go first.
	for i := range maxClients + 500 {
		s.Add(fmt.Sprint("sid-", i), "u", "c", end)
	}
	if n := s.len(); n > maxClients {
		t.Fatalf("%d clients remembered, bound %d", n, maxClients)
	}
	if len(s.order) > maxClients {
		t.Fatalf("order holds %d sessions, bound %d", len(s.order), maxClients)
	}
	if _, ok := s.bySID["sid-a"]; ok {
		t.Error("the oldest session was kept over newer ones")
	}
	if _, ok := s.bySID[fmt.Sprint("sid-", maxClients+499)]; !ok {
		t.Error("the newest session was evicted")
	}
	// Expired clients make room.
	now = end.Add(time.Second)
	for i := range 3 {
		s.Add("sid-x", "x", fmt.Sprint("c", i), now.Add(time.Hour))
	}
	total := 0
	for _, cs := range s.bySID {
		total += len(cs)
	}
	if total != s.len() {
		t.Fatalf("count %d, entries %d", s.len(), total)
	}
}

func TestSessionsRevokedDisconnectsWithRetries(t *testing.T) {
	api, url := newFakeAPI(t, 3)
	now := time.Unix(1_800_000_000, 0)
	s := testSessions(url, &now)
	s.Add("sid-a", "ada", "c1", now.Add(time.Hour))
	s.Add("sid-a", "ada", "c2", now.Add(time.Hour))
	s.Add("sid-b", "bob", "c3", now.Add(time.Hour))
	now = now.Add(2 * settle) // not young: one call each
	s.Revoked("sid-a")
	got := map[string]bool{api.next(t): true, api.next(t): true}
	if !got["ada/c1"] || !got["ada/c2"] {
		t.Fatalf("disconnected %v, want ada/c1 and ada/c2", got)
	}
	if s.len() != 1 {
		t.Fatalf("%d clients left, want sid-b's one", s.len())
	}
	s.Revoked("sid-a") // nothing left to disconnect
	s.Revoked("sid-b")
	if c := api.next(t); c != "bob/c3" {
		t.Fatalf("disconnected %s, want bob/c3", c)
	}
}

// A client revoked right after its connect is disconnected once more
// after settle, in case Centrifugo had not registered it yet; an older
// one once.
func TestSessionsYoungClientDisconnectedTwice(t *testing.T) {
	api, url := newFakeAPI(t, 0)
	now := time.Unix(1_800_000_000, 0)
	s := testSessions(url, &now)
	var slept []time.Duration
	s.sleep = func(d time.Duration) { slept = append(slept, d) }
	s.disconnect(client{user: "ada", id: "c1"}, true)
	if a, b := api.next(t), api.next(t); a != "ada/c1" || b != "ada/c1" || len(slept) != 1 || slept[0] != settle {
		t.Fatalf("young: calls %s %s, slept %v", a, b, slept)
	}
	slept = nil
	s.disconnect(client{user: "ada", id: "c2"}, false)
	if c := api.next(t); c != "ada/c2" || len(slept) != 0 {
		t.Fatalf("old: call %s, slept %v", c, slept)
	}
	select {
	case c := <-api.got:
		t.Fatalf("an old client disconnected twice: %s", c)
	default:
	}
	// Through Revoked: added now, revoked now, so young.
	s.sleep = func(time.Duration) {}
	s.Add("sid-y", "yan", "c9", now.Add(time.Hour))
	s.Revoked("sid-y")
	if a, b := api.next(t), api.next(t); a != "yan/c9" || b != "yan/c9" {
		t.Fatalf("young through Revoked: %s %s", a, b)
	}
}

// A revocation that lands while a connect is being answered either
// refuses the connect or disconnects the client it let in: never neither.
func TestConnectRacingRevocation(t *testing.T) {
	api, url := newFakeAPI(t, 0)
	yes := true
	r := authntest.New(t, authntest.Config{Policy: policy.Config{
		Rules: []policy.Rule{{When: policy.Condition{Authenticated: &yes}, Subscribe: []string{"chat:*"}}},
	}})
	s := testSessions(url, &r.Now)
	stop := r.Revocations.Subscribe(s.Revoked)
	t.Cleanup(stop)
	var once sync.Once
	// The proxy's own check reads "not revoked" just as the logout lands.
	racing := revocation.CheckerFunc(func(sid string) bool {
		first := false
		once.Do(func() {
			first = true
			_ = r.Revocations.Revoke(context.Background(), sid, r.Now.Add(time.Hour))
		})
		return !first && r.Revocations.Revoked(sid)
	})
	p, err := New(Config{Enabled: true, Now: func() time.Time { return r.Now }}, r.Resolver, racing, s, nopMetrics{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h := httpx.Mux(p.Routes(), func(*http.Request) string { return "192.0.2.1" })
	tok := r.Mint(t, policy.Identity{Subject: "ada", SessionID: "sid-race"}, 0)
	req := httptest.NewRequest("POST", PathPrefix+"connect", strings.NewReader(`{"client":"c1","data":{"token":"`+tok+`"}}`))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out answer
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if out.Error != nil {
		return // refused: fine
	}
	if c := api.next(t); c != "ada/c1" {
		t.Fatalf("let in and disconnected %s, want ada/c1", c)
	}
}

type nopMetrics struct{}

func (nopMetrics) Decision(string, string) {}
