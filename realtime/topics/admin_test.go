package topics_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAdminPublish(t *testing.T) {
	tests := []struct {
		name   string
		method string
		app    string
		auth   func(e *env) string
		body   string
		status int
		error  string
	}{
		{name: "ok", body: `{"topic":"chat","messageType":"notice","message":{"v":1}}`, status: 200},
		{name: "ok, default messageType", body: `{"topic":"chat","message":"text"}`, status: 200},
		{name: "no token", auth: func(*env) string { return "" }, body: `{"topic":"chat","message":1}`, status: 401, error: "invalid_token"},
		{name: "bad token", auth: func(*env) string { return "Bearer x.y.z" }, body: `{"topic":"chat","message":1}`, status: 401, error: "invalid_token"},
		{name: "not a bearer", auth: func(e *env) string { return "Basic " + e.mint("svc", "", 0, pub("chat")) }, body: `{"topic":"chat","message":1}`, status: 401, error: "invalid_token"},
		{name: "expired token", auth: func(e *env) string {
			tok := e.mint("svc", "", time.Minute, pub("chat"))
			e.clock.Advance(2 * time.Minute)
			return "Bearer " + tok
		}, body: `{"topic":"chat","message":1}`, status: 401, error: "invalid_token"},
		{name: "no grant", auth: func(e *env) string { return "Bearer " + e.mint("svc", "", 0, pub("news"), sub("chat")) }, body: `{"topic":"chat","message":1}`, status: 403, error: "access_denied"},
		{name: "not JSON", body: `{"topic":`, status: 400, error: "invalid_request"},
		{name: "topic missing", body: `{"message":1}`, status: 400, error: "invalid_request"},
		{name: "topic not a string", body: `{"topic":1,"message":1}`, status: 400, error: "invalid_request"},
		{name: "invalid topic", body: `{"topic":"a b","message":1}`, status: 400, error: "invalid_request"},
		{name: "reserved topic", body: `{"topic":"main","message":1}`, status: 400, error: "invalid_request"},
		{name: "message missing", body: `{"topic":"chat"}`, status: 400, error: "invalid_request"},
		{name: "pusher event name", body: `{"topic":"chat","messageType":"pusher_internal:member_added","message":1}`, status: 400, error: "invalid_request"},
		{name: "message over the hub limit", body: `{"topic":"chat","message":"` + strings.Repeat("x", 11000) + `"}`, status: 413, error: "invalid_request"},
		{name: "body over 64 KiB", body: `{"topic":"chat","message":"` + strings.Repeat("x", 70000) + `"}`, status: 413, error: "request_too_large"},
		{name: "unknown app", app: "nope", body: `{"topic":"chat","message":1}`, status: 404, error: "invalid_request"},
		{name: "GET", method: "GET", status: 405, error: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			r := e.user(t, "reader", sub("chat"))
			r.subscribed("chat")
			method, app := "POST", appID
			if tt.method != "" {
				method = tt.method
			}
			if tt.app != "" {
				app = tt.app
			}
			auth := "Bearer " + e.mint("backend", "", 0, pub("chat"))
			if tt.auth != nil {
				auth = tt.auth(e)
			}
			req, _ := http.NewRequest(method, e.ts.URL+"/api/topics/"+app+"/publish", bytes.NewReader([]byte(tt.body)))
			req.Header.Set("Content-Type", "application/json")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, body, tt.status)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatal("no Cache-Control: no-store")
			}
			if tt.status == 200 {
				if string(body) != "{}" {
					t.Fatalf("body %s", body)
				}
				var in struct {
					MessageType string          `json:"messageType"`
					Message     json.RawMessage `json:"message"`
				}
				_ = json.Unmarshal([]byte(tt.body), &in)
				if in.MessageType == "" {
					in.MessageType = "broadcast"
				}
				d := r.expectDelivery("chat", in.MessageType)
				if string(d.Payload) != string(in.Message) || d.Client == nil || d.Client.Sub != "backend" || d.Client.ConnectionID != "" || d.ID == nil || *d.ID == "" {
					t.Fatalf("delivery %+v payload %s", d, d.Payload)
				}
				return
			}
			var out map[string]string
			if err := json.Unmarshal(body, &out); err != nil || out["error"] != tt.error || out["error_description"] == "" {
				t.Fatalf("body %s", body)
			}
			if tt.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
			r.sync() // nothing was delivered
		})
	}
}
