package deepstream

import (
	"errors"
	"fmt"
)

// errDeepstreamBody is wrapped by every malformed webhook body.
var errDeepstreamBody = errors.New("deepstream: malformed body")

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
	// RemoteAddress is connectionData.remoteAddress (the client's address
	// as deepstream saw it), "" when absent or not a string.
	RemoteAddress string
}

// parseDeepstreamLogin parses a webhook body (one pass, see dsScanner). It
// fails on anything but a JSON object, on a non-object authData, and on a
// token or cookie that is not a string.
func parseDeepstreamLogin(body []byte) (deepstreamLogin, error) {
	s, err := scanDeepstreamBody(body)
	if err != nil {
		return deepstreamLogin{}, fmt.Errorf("%w: %w", errDeepstreamBody, err)
	}
	var out deepstreamLogin
	if !isJSONNull(s.cookie) {
		if err := jsonString(s.cookie, &out.Cookie); err != nil {
			return deepstreamLogin{}, fmt.Errorf("%w: cookie header is not a string", errDeepstreamBody)
		}
	}
	if !isJSONNull(s.remote) {
		// Only a hint for rate limiting: a non-string is ignored.
		_ = jsonString(s.remote, &out.RemoteAddress)
	}
	if isJSONNull(s.authData) {
		out.AuthDataEmpty = true
		return out, nil
	}
	if s.authData[0] != '{' {
		return deepstreamLogin{}, fmt.Errorf("%w: authData is not an object", errDeepstreamBody)
	}
	out.AuthDataEmpty = s.authKeys == 0
	if s.token != nil {
		out.HasToken = true
		if err := jsonString(s.token, &out.Token); err != nil || out.Token == "" {
			return deepstreamLogin{}, fmt.Errorf("%w: authData.token is not a non-empty string", errDeepstreamBody)
		}
	}
	return out, nil
}

func isJSONNull(raw []byte) bool {
	return len(raw) == 0 || string(raw) == "null"
}
