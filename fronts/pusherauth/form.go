package pusherauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"

	"gatehouse/pusherproto"
)

// errPusherForm is wrapped by every malformed auth request.
var errPusherForm = errors.New("pusherauth: malformed request")

// authRequest is what pusher-js posts to the auth endpoints.
type authRequest struct {
	SocketID    string
	ChannelName string
}

// parsePusherAuth parses a Pusher auth request body: form-encoded as
// pusher-js 8 sends it (application/x-www-form-urlencoded, the default of
// its ajax transport), or a JSON object with the same keys (custom
// handlers). Repeated keys, a malformed socket id and, when wantChannel, a
// missing or malformed channel name are errors.
func parsePusherAuth(contentType string, body []byte, wantChannel bool) (authRequest, error) {
	var req authRequest
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" {
		var j struct {
			SocketID    *string `json:"socket_id"`
			ChannelName *string `json:"channel_name"`
		}
		if err := json.Unmarshal(body, &j); err != nil {
			return req, fmt.Errorf("%w: %w", errPusherForm, err)
		}
		if j.SocketID != nil {
			req.SocketID = *j.SocketID
		}
		if j.ChannelName != nil {
			req.ChannelName = *j.ChannelName
		}
	} else {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return req, fmt.Errorf("%w: %w", errPusherForm, err)
		}
		for _, k := range []string{"socket_id", "channel_name"} {
			if len(vals[k]) > 1 {
				return req, fmt.Errorf("%w: %s given %d times", errPusherForm, k, len(vals[k]))
			}
		}
		req.SocketID, req.ChannelName = vals.Get("socket_id"), vals.Get("channel_name")
	}
	if !pusherproto.ValidSocketID(req.SocketID) {
		return req, fmt.Errorf("%w: socket_id %q", errPusherForm, req.SocketID)
	}
	if wantChannel && !pusherproto.ValidChannelName(req.ChannelName) {
		return req, fmt.Errorf("%w: channel_name %q", errPusherForm, req.ChannelName)
	}
	return req, nil
}
