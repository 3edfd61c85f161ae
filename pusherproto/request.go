package pusherproto

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxClockSkew is how far auth_timestamp may be from the server's clock.
const MaxClockSkew = 600 * time.Second

// AuthVersion is the only auth_version of the HTTP API.
const AuthVersion = "1.0"

// Errors returned by VerifyRequest. They tell the log which check failed; a
// client should only ever see a generic 401.
var (
	ErrMissingParam   = errors.New("pusherproto: missing auth parameter")
	ErrWrongKey       = errors.New("pusherproto: unknown auth_key")
	ErrNoCredentials  = errors.New("pusherproto: the app has no Pusher key and secret")
	ErrBadVersion     = errors.New("pusherproto: unsupported auth_version")
	ErrStaleTimestamp = errors.New("pusherproto: auth_timestamp outside the allowed window")
	ErrBodyMD5        = errors.New("pusherproto: body_md5 does not match the body")
	ErrBadSignature   = errors.New("pusherproto: auth_signature does not match")
)

// StringToSign returns what the HTTP API signs: the upper-case method, the
// path and the query string, joined by newlines. The query string holds every
// parameter except auth_signature, keys lower-cased, sorted by key and joined
// as key=value with '&', values not escaped (as the pusher npm package and
// Pusher's HTTP API reference do).
func StringToSign(method, path string, params url.Values) string {
	type kv struct{ k, v string }
	pairs := make([]kv, 0, len(params))
	for k, vs := range params {
		lk := strings.ToLower(k)
		if lk == "auth_signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, kv{lk, v})
		}
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
	var b strings.Builder
	b.WriteString(strings.ToUpper(method))
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// SignRequest returns the auth_signature of an HTTP API request: the hex
// HMAC-SHA256 of StringToSign(method, path, params) keyed with secret.
func SignRequest(secret, method, path string, params url.Values) string {
	return sign(secret, StringToSign(method, path, params))
}

// BodyMD5 returns the hex MD5 of body, the value of body_md5.
func BodyMD5(body []byte) string {
	sum := md5.Sum(body)
	return hex.EncodeToString(sum[:])
}

// SignedQuery returns params completed with auth_key, auth_timestamp (now),
// auth_version, body_md5 (when body is not empty) and auth_signature, as a
// Pusher server SDK sends them. params is not modified.
func SignedQuery(key, secret, method, path string, params url.Values, body []byte, now time.Time) url.Values {
	q := url.Values{}
	for k, vs := range params {
		q[k] = append([]string(nil), vs...)
	}
	q.Set("auth_key", key)
	q.Set("auth_timestamp", strconv.FormatInt(now.Unix(), 10))
	q.Set("auth_version", AuthVersion)
	if len(body) > 0 {
		q.Set("body_md5", BodyMD5(body))
	}
	q.Set("auth_signature", SignRequest(secret, method, path, q))
	return q
}

// VerifyRequest checks the signature of an HTTP API request made to an app
// with the given key and secret: auth_key must equal key, auth_version must be
// 1.0, auth_timestamp must be within MaxClockSkew of now, body_md5 must be
// present and match a non-empty body (and match when given for an empty one),
// and auth_signature must be the signature of the request. Comparisons of
// secrets and digests are constant-time. An app without a key or secret
// (no Pusher credentials) verifies nothing: ErrNoCredentials.
func VerifyRequest(key, secret, method, path string, query url.Values, body []byte, now time.Time) error {
	if key == "" || secret == "" {
		return ErrNoCredentials
	}
	for _, p := range []string{"auth_key", "auth_timestamp", "auth_version", "auth_signature"} {
		if query.Get(p) == "" {
			return ErrMissingParam
		}
	}
	if !hmac.Equal([]byte(query.Get("auth_key")), []byte(key)) {
		return ErrWrongKey
	}
	if query.Get("auth_version") != AuthVersion {
		return ErrBadVersion
	}
	ts, err := strconv.ParseInt(query.Get("auth_timestamp"), 10, 64)
	if err != nil {
		return ErrStaleTimestamp
	}
	skew := now.Unix() - ts
	if skew > int64(MaxClockSkew/time.Second) || skew < -int64(MaxClockSkew/time.Second) {
		return ErrStaleTimestamp
	}
	if got, ok := query["body_md5"]; ok || len(body) > 0 {
		if !ok || len(got) != 1 || !hmac.Equal([]byte(strings.ToLower(got[0])), []byte(BodyMD5(body))) {
			return ErrBodyMD5
		}
	}
	want := SignRequest(secret, method, path, query)
	if !hmac.Equal([]byte(strings.ToLower(query.Get("auth_signature"))), []byte(want)) {
		return ErrBadSignature
	}
	return nil
}
