package pusherproto

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	vecKey    = "278d425bdf160c739803"
	vecSecret = "7ad3773142a6692b25b8"
)

func TestChannelAuthVectors(t *testing.T) {
	tests := []struct {
		name, socket, channel, data, want string
	}{
		{"private", "1234.1234", "private-foobar", "", "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"},
		{"presence", "1234.1234", "presence-foobar", `{"user_id":"10","user_info":{"name":"Mr. Channels"}}`, "4c6d8fc42a207ba96a0779844171b0bb819d96ffceef9609f5cce596ab17a800"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ChannelAuth(vecKey, vecSecret, tt.socket, tt.channel, tt.data)
			if want := vecKey + ":" + tt.want; got != want {
				t.Fatalf("ChannelAuth = %q, want %q", got, want)
			}
			if !VerifyChannelAuth(vecKey, vecSecret, tt.socket, tt.channel, tt.data, got) {
				t.Fatal("VerifyChannelAuth rejected its own signature")
			}
			for _, bad := range []string{"", got[:len(got)-1], strings.ToUpper(got), "x" + got, got + "0"} {
				if VerifyChannelAuth(vecKey, vecSecret, tt.socket, tt.channel, tt.data, bad) {
					t.Fatalf("VerifyChannelAuth accepted %q", bad)
				}
			}
			if VerifyChannelAuth(vecKey, "wrong", tt.socket, tt.channel, tt.data, got) {
				t.Fatal("VerifyChannelAuth accepted a signature under the wrong secret")
			}
			if VerifyChannelAuth(vecKey, vecSecret, "1234.1235", tt.channel, tt.data, got) {
				t.Fatal("VerifyChannelAuth accepted a signature for another socket")
			}
		})
	}
}

func TestUserAuthVector(t *testing.T) {
	got := UserAuth(vecKey, vecSecret, "1234.1234", `{"id":"12345"}`)
	want := vecKey + ":4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
	if got != want {
		t.Fatalf("UserAuth = %q, want %q", got, want)
	}
	if !VerifyUserAuth(vecKey, vecSecret, "1234.1234", `{"id":"12345"}`, got) {
		t.Fatal("VerifyUserAuth rejected its own signature")
	}
	if VerifyUserAuth(vecKey, vecSecret, "1234.1234", `{"id":"12346"}`, got) {
		t.Fatal("VerifyUserAuth accepted a signature for other user data")
	}
}

func TestSharedSecretVector(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	got := SharedSecret("private-encrypted-foo", key)
	if want := "E3I6KxLwqP1Rr/p1676Vpnrw23CkRdS5bkX5NazRkeY="; got != want {
		t.Fatalf("SharedSecret = %q, want %q", got, want)
	}
}

func TestVerifySignature(t *testing.T) {
	sig := Sign("s3cret", "body")
	if !VerifySignature("s3cret", "body", sig) || !VerifySignature("s3cret", "body", strings.ToUpper(sig)) {
		t.Fatal("VerifySignature rejected a good signature")
	}
	if VerifySignature("other", "body", sig) || VerifySignature("s3cret", "body2", sig) {
		t.Fatal("VerifySignature accepted a bad signature")
	}
}

// Under an empty key or secret nothing verifies, however it was signed:
// an app without Pusher credentials must never accept a signature anyone
// could compute.
func TestEmptyCredentialsVerifyNothing(t *testing.T) {
	for _, kv := range [][2]string{{"", ""}, {"key", ""}, {"", "secret"}} {
		key, secret := kv[0], kv[1]
		if VerifyChannelAuth(key, secret, "1.2", "private-x", "", ChannelAuth(key, secret, "1.2", "private-x", "")) {
			t.Errorf("channel auth verified under key %q secret %q", key, secret)
		}
		if VerifyUserAuth(key, secret, "1.2", "{}", UserAuth(key, secret, "1.2", "{}")) {
			t.Errorf("user auth verified under key %q secret %q", key, secret)
		}
	}
	if VerifySignature("", "body", Sign("", "body")) {
		t.Error("a signature verified under an empty secret")
	}
	now := time.Unix(1700000000, 0)
	q := SignedQuery("", "", "POST", "/apps/a/events", nil, []byte("{}"), now)
	if err := VerifyRequest("", "", "POST", "/apps/a/events", q, []byte("{}"), now); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("request verified under empty credentials: %v", err)
	}
}
