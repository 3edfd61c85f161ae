package pusher

import (
	"context"
	"encoding/json"
	"strconv"
)

// EventHistory is the Pusher-protocol extension for channel history: a
// client subscribed to a channel sends {"event":"gatehouse:history",
// "data":{"channel","limit"}} (pusher-js: pusher.send_event) and gets back
// {"event":"gatehouse:history","channel","data":"{\"events\":[…]}"},
// which pusher-js hands to channel.bind('gatehouse:history'). A client that
// never asks never sees it, so unmodified Pusher clients are unaffected.
const EventHistory = "gatehouse:history"

// history answers EventHistory for a channel the socket is subscribed to
// (so the channel's own authorization already happened); anything else is
// ignored, as Pusher ignores unknown events.
func (ss *session) history(ctx context.Context, raw []byte) {
	var data map[string]any
	if json.Unmarshal(raw, &data) != nil {
		return
	}
	channel, _ := data["channel"].(string)
	if channel == "" || !ss.srv.hub.Subscribed(ss, channel) {
		return
	}
	limit := 0
	switch n := data["limit"].(type) {
	case float64:
		limit = int(n)
	case string:
		limit, _ = strconv.Atoi(n)
	}
	evs, err := ss.srv.hub.History(ctx, ss.app.ID, channel, limit, "")
	if err != nil {
		ss.srv.log.WarnContext(ctx, "pusher: history", "channel", channel, "err", err)
		return
	}
	body, err := json.Marshal(map[string]any{"events": evs})
	if err != nil {
		return
	}
	ss.ws.SendText(eventJSON(EventHistory, channel, string(body)))
}
