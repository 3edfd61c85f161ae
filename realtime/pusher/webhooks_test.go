package pusher_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/apps"
	"gatehouse/pusherproto"
	"gatehouse/realtime/internal/wstest"
	"gatehouse/realtime/pusher"
)

type hookBody struct {
	TimeMS int64 `json:"time_ms"`
	Events []struct {
		Name     string `json:"name"`
		Channel  string `json:"channel"`
		Event    string `json:"event"`
		Data     string `json:"data"`
		SocketID string `json:"socket_id"`
		UserID   string `json:"user_id"`
	} `json:"events"`
}

// hookServer records verified webhook bodies; the first failures requests
// answer 503.
func hookServer(t *testing.T, failures int32) (*httptest.Server, chan hookBody, *atomic.Int32) {
	t.Helper()
	bodies := make(chan hookBody, 32)
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		raw, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Pusher-Key") != appKey || !pusherproto.VerifySignature(appSecret, string(raw), r.Header.Get("X-Pusher-Signature")) {
			t.Errorf("webhook signature does not verify: %s", raw)
			w.WriteHeader(401)
			return
		}
		if n <= failures {
			w.WriteHeader(503)
			return
		}
		var b hookBody
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Errorf("webhook body %s: %v", raw, err)
		}
		bodies <- b
	}))
	t.Cleanup(ts.Close)
	return ts, bodies, &calls
}

func nextBody(t *testing.T, ch chan hookBody) hookBody {
	t.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook")
		return hookBody{}
	}
}

func TestWebhooksBatchedAndSigned(t *testing.T) {
	hooks, bodies, _ := hookServer(t, 0)
	e := newEnv(t, envOpts{
		app: func(a *apps.App) {
			a.Webhooks = []apps.Webhook{{URL: hooks.URL, Events: []string{"channel_occupied", "channel_vacated", "member_added", "member_removed", "client_event"}}}
		},
		cfg: func(c *pusher.Config) {
			c.WebhookBatchWindow = 200 * time.Millisecond
		},
	})
	a := e.connect(t, wstest.Options{})
	a.subscribe("presence-room", presenceData("7", "Ada"))
	a.expect("pusher_internal:subscription_succeeded")
	a.send("client-hi", "presence-room", "hello")
	a.sync()
	var names []string
	for len(names) < 3 {
		b := nextBody(t, bodies)
		if b.TimeMS == 0 {
			t.Fatal("time_ms missing")
		}
		for _, ev := range b.Events {
			names = append(names, ev.Name)
			if ev.Name == "client_event" && (ev.Event != "client-hi" || ev.Data != "hello" || ev.SocketID != a.socketID || ev.UserID != "7") {
				t.Fatalf("client_event %+v", ev)
			}
			if ev.Name == "member_added" && ev.UserID != "7" {
				t.Fatalf("member_added %+v", ev)
			}
		}
	}
	if got := strings.Join(names, ","); got != "channel_occupied,member_added,client_event" {
		t.Fatalf("events %s", got)
	}
	a.Close()
	var left []string
	for len(left) < 2 {
		for _, ev := range nextBody(t, bodies).Events {
			left = append(left, ev.Name)
		}
	}
	if got := strings.Join(left, ","); got != "member_removed,channel_vacated" {
		t.Fatalf("events %s", got)
	}
}

func TestWebhooksRetried(t *testing.T) {
	hooks, bodies, calls := hookServer(t, 2)
	e := newEnv(t, envOpts{
		app: func(a *apps.App) { a.Webhooks = []apps.Webhook{{URL: hooks.URL, Events: []string{"channel_occupied"}}} },
		cfg: func(c *pusher.Config) {
			c.WebhookBatchWindow = time.Millisecond
			c.WebhookBackoff = time.Millisecond
		},
	})
	a := e.connect(t, wstest.Options{})
	a.subscribe("news", "")
	a.expect("pusher_internal:subscription_succeeded")
	b := nextBody(t, bodies)
	if len(b.Events) != 1 || b.Events[0].Name != "channel_occupied" || calls.Load() != 3 {
		t.Fatalf("after %d calls got %+v", calls.Load(), b)
	}
}

func TestWebhookEventsFiltered(t *testing.T) {
	hooks, bodies, _ := hookServer(t, 0)
	e := newEnv(t, envOpts{
		app: func(a *apps.App) { a.Webhooks = []apps.Webhook{{URL: hooks.URL, Events: []string{"channel_vacated"}}} },
		cfg: func(c *pusher.Config) {
			c.WebhookBatchWindow = time.Millisecond
		},
	})
	a := e.connect(t, wstest.Options{})
	a.subscribe("news", "")
	a.expect("pusher_internal:subscription_succeeded")
	a.Close()
	if b := nextBody(t, bodies); len(b.Events) != 1 || b.Events[0].Name != "channel_vacated" {
		t.Fatalf("got %+v", b)
	}
}
