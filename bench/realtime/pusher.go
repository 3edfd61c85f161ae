package rtbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"gatehouse/pusherproto"
)

// Frames the Pusher client looks for, as they appear in both Gatehouse's
// and soketi's JSON.
var (
	markEstablished = []byte(`pusher:connection_established`)
	markSucceeded   = []byte(`pusher_internal:subscription_succeeded`)
	markPing        = []byte(`"pusher:ping"`)
	markError       = []byte(`pusher:error`)
	markBench       = []byte(`"event":"` + EventName + `"`)
	pusherPong      = []byte(`{"event":"pusher:pong","data":{}}`)
)

// pusherWire speaks Pusher protocol 7 with one app.
type pusherWire struct {
	app    App
	api    string // HTTP API base
	events string // path of the events endpoint
}

func newPusherWire(cfg Config) *pusherWire {
	return &pusherWire{app: cfg.App, api: strings.TrimSuffix(cfg.APIURL, "/"), events: "/apps/" + cfg.App.ID + "/events"}
}

func (w *pusherWire) path() string {
	return "/app/" + w.app.Key + "?protocol=7&client=rtbench&version=8.4.0"
}

// handshake waits for pusher:connection_established, subscribes and waits
// for the subscription to succeed.
func (w *pusherWire) handshake(c *client, channel string) error {
	if err := c.await(markEstablished, markError); err != nil {
		return fmt.Errorf("connection_established: %w", err)
	}
	sub := `{"event":"pusher:subscribe","data":{"channel":` + strconv.Quote(channel) + `}}`
	if err := c.roundTrip(sub, markSucceeded, markError); err != nil {
		return fmt.Errorf("subscribe %s: %w", channel, err)
	}
	return nil
}

// text handles one Pusher message: each carries one event.
func (w *pusherWire) text(c *client, p []byte, now time.Time) []byte {
	if bytes.Contains(p, markBench) {
		if i := bytes.Index(p, markData); i >= 0 {
			c.received(p[i+len(markData):], now)
		} else {
			c.received(nil, now)
		}
		return nil
	}
	if bytes.Contains(p, markPing) {
		return pusherPong
	}
	return nil
}

// request signs a POST /apps/{id}/events as the Pusher HTTP API wants it.
func (w *pusherWire) request(ctx context.Context, data string, now time.Time) (*http.Request, error) {
	body, _ := json.Marshal(map[string]any{"name": EventName, "channels": []string{FanChannel}, "data": data})
	q := pusherproto.SignedQuery(w.app.Key, w.app.Secret, http.MethodPost, w.events, nil, body, now)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.api+w.events+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

func (w *pusherWire) accepted(status int, body []byte) error {
	if status != http.StatusOK {
		return fmt.Errorf("publish: %d: %s", status, body)
	}
	return nil
}
