package centrifugo

import (
	"bytes"
	"encoding/json"
	"time"
)

// Centrifugo's proxy error and disconnect codes used here.
const (
	// codePermissionDenied is Centrifugo's own "permission denied" (103).
	codePermissionDenied = 103
	// codeUnauthorized is Centrifugo's "unauthorized" (101).
	codeUnauthorized = 101
	// codeTooMany is "too many requests" (111).
	codeTooMany = 111
	// disconnectRevoked ends a connection whose login session ended;
	// 4500-4999 are for application use and terminal (no reconnect).
	disconnectRevoked = 4501
)

// request is the part of a Centrifugo proxy request Gatehouse reads; every
// kind carries a subset.
type request struct {
	Client    string          `json:"client"`
	Transport string          `json:"transport"`
	User      string          `json:"user"`
	Channel   string          `json:"channel"`
	Data      connectData     `json:"data"`
	Meta      json.RawMessage `json:"meta"`
}

// connectData is what Gatehouse reads of a client's connect data: the
// "token" of an object. Data of any other shape is the client's business
// and carries no token (decoding it is not an error, see wrap).
type connectData struct {
	Token json.RawMessage `json:"token"`
}

// token returns the token, whether the data had one, and whether it was a
// string. A plain JSON string without escapes is taken as it stands (a
// JWT never needs escapes); anything else is decoded.
func (d connectData) token() (tok string, present, ok bool) {
	raw := d.Token
	if len(raw) == 0 {
		return "", false, false
	}
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && !bytes.ContainsAny(raw[1:len(raw)-1], "\\\"") {
		return string(raw[1 : len(raw)-1]), true, true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, false
	}
	return s, true, true
}

// meta is what the connect answer keeps with the connection: Centrifugo
// hands it back to every later proxy request (include_connection_meta) and
// never shows it to the client.
type meta struct {
	// Sub is the subject (Centrifugo's user).
	Sub string `json:"sub"`
	// SID is the login session, "" for tokens without one and anonymous.
	SID string `json:"sid,omitempty"`
	// End is when the credential ends (Unix seconds).
	End int64 `json:"end"`
	// Anon marks an anonymous connection (refresh extends it by the
	// anonymous lifetime).
	Anon bool `json:"anon,omitempty"`
	// Permissions are the grants, as permission strings.
	Permissions []string `json:"permissions"`
}

// connectResult is the connect proxy's result.
type connectResult struct {
	User     string          `json:"user"`
	ExpireAt int64           `json:"expire_at,omitempty"`
	Info     json.RawMessage `json:"info,omitempty"`
	Channels []string        `json:"channels,omitempty"`
	Meta     *meta           `json:"meta,omitempty"`
}

// refreshResult is the refresh and sub_refresh proxies' result.
type refreshResult struct {
	Expired  bool  `json:"expired,omitempty"`
	ExpireAt int64 `json:"expire_at,omitempty"`
}

// answer is every proxy response: one of result, error, disconnect.
type answer struct {
	Result     any         `json:"result,omitempty"`
	Error      *protoError `json:"error,omitempty"`
	Disconnect *disconnect `json:"disconnect,omitempty"`
}

type protoError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type disconnect struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// empty is the {} result of an allowed subscribe or publish.
type empty struct{}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
