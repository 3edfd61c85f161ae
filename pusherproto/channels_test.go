package pusherproto

import "testing"

func TestTypeOf(t *testing.T) {
	for _, tc := range []struct {
		name      string
		want      ChannelType
		needsAuth bool
	}{
		{"chat", Public, false},
		{"public-news", Public, false},
		{"cache-x", Public, false},
		{"private-chat", Private, true},
		{"private-cache-x", Private, true},
		{"presence-lobby", Presence, true},
		{"presence-cache-x", Presence, true},
		{"private-encrypted-x", Encrypted, true},
		{"private-encrypted-cache-x", Encrypted, true},
		{"#server-to-user-auth0|42", ServerToUser, false},
		{"#server-to-user-", ServerToUser, false},
		{"#other", Server, false},
		{"#", Server, false},
		{"privatechat", Public, false},
		{"Private-x", Public, false},
	} {
		if got := TypeOf(tc.name); got != tc.want || got.NeedsAuth() != tc.needsAuth {
			t.Errorf("TypeOf(%q) = %v (needs auth %v), want %v (%v)", tc.name, got, got.NeedsAuth(), tc.want, tc.needsAuth)
		}
	}
	if !Encrypted.IsPrivate() || !Private.IsPrivate() || Presence.IsPrivate() {
		t.Error("IsPrivate: private- channels, encrypted ones included, and no others")
	}
}

func TestIsCacheChannel(t *testing.T) {
	for name, want := range map[string]bool{
		"cache-x": true, "private-cache-x": true, "presence-cache-x": true, "private-encrypted-cache-x": true,
		"cache": false, "x-cache-y": false, "private-x": false, "presence-cachex": false,
	} {
		if got := IsCacheChannel(name); got != want {
			t.Errorf("IsCacheChannel(%q) = %v, want %v", name, got, want)
		}
	}
}
