package topics

import (
	"context"
	"encoding/json"

	"gatehouse/realtime"
)

// historyTopic is where a history answer arrives.
const historyTopic = "priv/history"

// history handles {"type":"history","data":{"topic","limit","id"}}: a
// connection that may subscribe to the topic gets its kept events, oldest
// first, in one {"topic":"priv/history","messageType":"history",
// "data":{"topic","id","events":[{"id","name","data","at"}]}} frame.
func (ss *session) history(ctx context.Context, f frame) {
	refuse := func(code, msg string) {
		ss.sendError(&protoError{Code: code, Message: msg, Topic: clip(f.Topic), ID: f.ID})
	}
	if code, msg := checkTopic(f.Topic); code != "" {
		refuse(code, msg)
		return
	}
	if !ss.tok.grants.CanSubscribe(f.Topic) {
		refuse(errForbidden, "the token does not grant reading this topic")
		return
	}
	evs, err := ss.srv.hub.History(ctx, ss.app, f.Topic, f.Limit, "")
	if err != nil {
		ss.srv.log.WarnContext(ctx, "topics: history", "app", ss.app, "topic", f.Topic, "err", err)
		refuse(errServer, "the history could not be read")
		return
	}
	out, err := json.Marshal(struct {
		Topic       string `json:"topic"`
		MessageType string `json:"messageType"`
		Data        struct {
			Topic  string                  `json:"topic"`
			ID     string                  `json:"id,omitempty"`
			Events []realtime.HistoryEvent `json:"events"`
		} `json:"data"`
	}{Topic: historyTopic, MessageType: "history", Data: struct {
		Topic  string                  `json:"topic"`
		ID     string                  `json:"id,omitempty"`
		Events []realtime.HistoryEvent `json:"events"`
	}{f.Topic, f.ID, evs}})
	if err != nil {
		refuse(errServer, "the history could not be encoded")
		return
	}
	ss.ws.SendText(out)
}
