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
)

// Replies and pushes the Centrifugo client looks for. Centrifugo's JSON
// protocol may put several replies and pushes in one WebSocket message,
// one JSON object a line.
var (
	markConnected  = []byte(`"connect":{`)
	markSubscribed = []byte(`"subscribe":{`)
	markCfError    = []byte(`"error":{`)
	markPush       = []byte(`{"push":{`)
	markPub        = []byte(`"pub":{`)
	centrifugoPing = []byte(`{}`) // the server's ping, and the client's pong
)

// centrifugoWire speaks Centrifugo's JSON protocol without a token: the
// server must allow anonymous connects and anonymous subscribes to the
// channels (bench/realtime/centrifugo.json).
type centrifugoWire struct {
	api string // HTTP API base
	key string // X-API-Key
}

func newCentrifugoWire(cfg Config) *centrifugoWire {
	return &centrifugoWire{api: strings.TrimSuffix(cfg.APIURL, "/"), key: cfg.APIKey}
}

func (w *centrifugoWire) path() string { return "/connection/websocket" }

// handshake sends connect, waits for its reply, subscribes and waits for
// the subscribe reply: one round trip each, as on the Pusher socket.
func (w *centrifugoWire) handshake(c *client, channel string) error {
	if err := c.roundTrip(`{"id":1,"connect":{}}`, markConnected, markCfError); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	sub := `{"id":2,"subscribe":{"channel":` + strconv.Quote(channel) + `}}`
	if err := c.roundTrip(sub, markSubscribed, markCfError); err != nil {
		return fmt.Errorf("subscribe %s: %w", channel, err)
	}
	return nil
}

// text handles one message, which may hold several lines: publication
// pushes ({"push":{"channel":…,"pub":{"data":…}}}) and the server's ping
// ({}), which is answered with a pong ({}).
func (w *centrifugoWire) text(c *client, p []byte, now time.Time) []byte {
	var reply []byte
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		switch {
		case bytes.Equal(line, centrifugoPing):
			reply = centrifugoPing
		case bytes.HasPrefix(line, markPush):
			i := bytes.Index(line, markPub)
			if i < 0 {
				continue // join, leave, unsubscribe…: none is enabled
			}
			pub := line[i+len(markPub):]
			if j := bytes.Index(pub, markData); j >= 0 {
				c.received(pub[j+len(markData):], now)
			} else {
				c.received(nil, now)
			}
		}
	}
	return reply
}

// request builds POST /api/publish with the API key.
func (w *centrifugoWire) request(ctx context.Context, data string, _ time.Time) (*http.Request, error) {
	body, _ := json.Marshal(map[string]any{"channel": FanChannel, "data": data})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.api+"/api/publish", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", w.key)
	return req, nil
}

// accepted reads the answer: Centrifugo reports a refused command as
// {"error":{…}} with status 200.
func (w *centrifugoWire) accepted(status int, body []byte) error {
	if status != http.StatusOK {
		return fmt.Errorf("publish: %d: %s", status, body)
	}
	var ans struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return fmt.Errorf("publish: answer %q: %w", body, err)
	}
	if ans.Error != nil {
		return fmt.Errorf("publish: error %d: %s", ans.Error.Code, ans.Error.Message)
	}
	return nil
}
