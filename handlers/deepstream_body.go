package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// errDeepstreamBody is wrapped by every malformed webhook body.
var errDeepstreamBody = errors.New("handlers: malformed deepstream body")

// deepstreamLogin is what the webhook needs from deepstream's request.
type deepstreamLogin struct {
	// HasToken is true when authData carries a "token" key; Token is its
	// value (a non-string token is a malformed credential, refused).
	HasToken bool
	Token    string
	// AuthDataEmpty is true when authData is absent, null or {}.
	AuthDataEmpty bool
	// Cookie is connectionData.headers.cookie, "" when absent.
	Cookie string
}

// deepstreamBody is deepstream's JSON. Only the keys used are decoded; the
// forwarded headers are many and are skipped unparsed.
type deepstreamBody struct {
	ConnectionData *struct {
		Headers *struct {
			Cookie json.RawMessage `json:"cookie"`
		} `json:"headers"`
	} `json:"connectionData"`
	AuthData json.RawMessage `json:"authData"`
}

// parseDeepstreamLogin parses a webhook body. It fails on anything but a
// JSON object, on a non-object authData, and on a token or cookie that is
// not a string.
func parseDeepstreamLogin(body []byte) (deepstreamLogin, error) {
	var b deepstreamBody
	if err := json.Unmarshal(body, &b); err != nil {
		return deepstreamLogin{}, fmt.Errorf("%w: %w", errDeepstreamBody, err)
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return deepstreamLogin{}, fmt.Errorf("%w: not an object", errDeepstreamBody)
	}
	var out deepstreamLogin
	if b.ConnectionData != nil && b.ConnectionData.Headers != nil && !isJSONNull(b.ConnectionData.Headers.Cookie) {
		if err := json.Unmarshal(b.ConnectionData.Headers.Cookie, &out.Cookie); err != nil {
			return deepstreamLogin{}, fmt.Errorf("%w: cookie header is not a string", errDeepstreamBody)
		}
	}
	if isJSONNull(b.AuthData) {
		out.AuthDataEmpty = true
		return out, nil
	}
	var auth map[string]json.RawMessage
	if err := json.Unmarshal(b.AuthData, &auth); err != nil {
		return deepstreamLogin{}, fmt.Errorf("%w: authData is not an object", errDeepstreamBody)
	}
	out.AuthDataEmpty = len(auth) == 0
	if raw, ok := auth["token"]; ok {
		out.HasToken = true
		if err := json.Unmarshal(raw, &out.Token); err != nil || out.Token == "" {
			return deepstreamLogin{}, fmt.Errorf("%w: authData.token is not a non-empty string", errDeepstreamBody)
		}
	}
	return out, nil
}

func isJSONNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}
