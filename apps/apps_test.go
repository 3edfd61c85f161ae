package apps

import (
	"strings"
	"testing"
)

func TestNewValidatesOnce(t *testing.T) {
	ok := App{ID: "chat", Key: "k1", Secret: "s1"}
	for _, tc := range []struct {
		name string
		list []App
		want string // "" = accepted
	}{
		{"none", nil, ""},
		{"one", []App{ok}, ""},
		{"no secret", []App{{ID: "a", Key: "k"}}, "apps[0]: key and secret go together"},
		{"no key", []App{{ID: "a", Secret: "s"}}, "apps[0]: key and secret go together"},
		{"no id", []App{{Key: "k", Secret: "s"}}, "apps[0]: id is required"},
		{"topic-only", []App{ok, {ID: "topics"}, {ID: "more-topics"}}, ""},
		{"topic-only with webhooks", []App{{ID: "a", Webhooks: []Webhook{{URL: "http://x"}}}}, "webhooks are signed with the secret"},
		{"duplicate id", []App{ok, {ID: "chat", Key: "k2", Secret: "s"}}, `apps[1]: duplicate id "chat"`},
		{"duplicate key", []App{ok, {ID: "b", Key: "k1", Secret: "s"}}, "apps[1]: duplicate key"},
		{"short master key", []App{{ID: "a", Key: "k", Secret: "s", EncryptionMasterKey: make([]byte, 16)}}, "encryption_master_key must be 32 bytes"},
		{"bad source address", []App{{ID: "a", Key: "k", Secret: "s", ClientSourceAddress: []string{"10.0.0.0/33"}}}, "apps[0].client_source_address"},
		{"too many source addresses", []App{{ID: "a", Key: "k", Secret: "s", AdminSourceAddress: strings.Split("1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9,1.1.1.10,1.1.1.11", ",")}}, "at most 10"},
		{"unknown webhook event", []App{{ID: "a", Key: "k", Secret: "s", Webhooks: []Webhook{{URL: "http://x", Events: []string{"nope"}}}}}, `unknown webhook event "nope"`},
		{"webhook not http", []App{{ID: "a", Key: "k", Secret: "s", Webhooks: []Webhook{{URL: "ftp://x"}}}}, "not an http(s) URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.list...)
			if tc.want == "" {
				if err != nil || s.Len() != len(tc.list) {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSetLookups(t *testing.T) {
	list := []App{
		{ID: "a", Key: "ka", Secret: "s", ClientSourceAddress: []string{"10.0.0.0/8", "!10.0.0.9"}},
		{ID: "b", Key: "kb", Secret: "s", AdminSourceAddress: []string{"192.0.2.1"}},
	}
	s, err := New(list...)
	if err != nil {
		t.Fatal(err)
	}
	list[0].ID = "changed" // the Set keeps its own copy
	a, b := s.ByID("a"), s.ByKey("kb")
	if a == nil || b == nil || b.ID != "b" || s.ByID("nope") != nil || s.ByKey("ka") != a || len(s.All()) != 2 {
		t.Fatalf("lookups: %+v %+v", a, b)
	}
	for _, tc := range []struct {
		app    *App
		client bool
		ip     string
		want   bool
	}{
		{a, true, "10.1.2.3", true}, {a, true, "10.0.0.9", false}, {a, true, "192.0.2.1", false},
		{a, false, "203.0.113.1", true}, {b, false, "192.0.2.1", true}, {b, false, "192.0.2.2", false},
		{b, true, "203.0.113.1", true}, {b, false, "not an ip", false},
	} {
		got := tc.app.AdminAllowed(tc.ip)
		if tc.client {
			got = tc.app.ClientAllowed(tc.ip)
		}
		if got != tc.want {
			t.Errorf("%s client=%v %s: %v", tc.app.ID, tc.client, tc.ip, got)
		}
	}
}

// An app without a key and secret has no Pusher side: no key finds it
// (the empty key least of all) and it reports no credentials.
func TestTopicOnlyApp(t *testing.T) {
	s, err := New(App{ID: "chat", Key: "k1", Secret: "s1"}, App{ID: "topics"})
	if err != nil {
		t.Fatal(err)
	}
	if s.ByKey("") != nil {
		t.Fatal("the empty key found an app")
	}
	if a := s.ByID("topics"); a == nil || a.Pusher() {
		t.Fatalf("topics: %+v", a)
	}
	if !s.ByID("chat").Pusher() {
		t.Fatal("chat has Pusher credentials")
	}
}
