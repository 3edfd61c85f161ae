package pusherproto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// ChannelAuth returns the auth value a client presents in pusher:subscribe for
// a private, presence or encrypted channel: "key:" followed by the hex
// HMAC-SHA256, keyed with secret, of "socketID:channel", or of
// "socketID:channel:channelData" when channelData is not empty (presence).
func ChannelAuth(key, secret, socketID, channel, channelData string) string {
	msg := socketID + ":" + channel
	if channelData != "" {
		msg += ":" + channelData
	}
	return key + ":" + sign(secret, msg)
}

// UserAuth returns the auth value a client presents in pusher:signin: "key:"
// followed by the hex HMAC-SHA256 of "socketID::user::userData".
func UserAuth(key, secret, socketID, userData string) string {
	return key + ":" + sign(secret, socketID+"::user::"+userData)
}

// VerifyChannelAuth reports whether auth is the channel authorization that
// ChannelAuth would compute for these values. The comparison is constant-time.
// Nothing verifies under an empty key or secret (anyone could sign it).
func VerifyChannelAuth(key, secret, socketID, channel, channelData, auth string) bool {
	return key != "" && secret != "" && verify(auth, ChannelAuth(key, secret, socketID, channel, channelData))
}

// VerifyUserAuth reports whether auth is the user authentication that
// UserAuth would compute for these values. The comparison is constant-time.
// Nothing verifies under an empty key or secret.
func VerifyUserAuth(key, secret, socketID, userData, auth string) bool {
	return key != "" && secret != "" && verify(auth, UserAuth(key, secret, socketID, userData))
}

// SharedSecret returns the per-channel key of an end-to-end encrypted channel
// (private-encrypted-*): the standard base64 encoding of SHA-256 over the
// channel name followed by the app's 32-byte master key.
func SharedSecret(channel string, masterKey []byte) string {
	h := sha256.New()
	h.Write([]byte(channel))
	h.Write(masterKey)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Sign returns the hex HMAC-SHA256 of msg keyed with secret. Webhook bodies
// (X-Pusher-Signature) and every other Pusher signature use it.
func Sign(secret, msg string) string { return sign(secret, msg) }

// VerifySignature reports whether sig is the hex HMAC-SHA256 of msg keyed with
// secret. The comparison is constant-time. Nothing verifies under an empty
// secret.
func VerifySignature(secret, msg, sig string) bool {
	return secret != "" && hmac.Equal([]byte(strings.ToLower(sig)), []byte(sign(secret, msg)))
}

func sign(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func verify(got, want string) bool {
	return hmac.Equal([]byte(got), []byte(want))
}
