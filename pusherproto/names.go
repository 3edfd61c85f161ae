package pusherproto

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxChannelNameLen is the longest channel name Pusher accepts.
const MaxChannelNameLen = 200

// maxSocketIDLen bounds a socket id: two unsigned decimal numbers of at most
// 20 digits each and a dot.
const maxSocketIDLen = 41

// ValidSocketID reports whether s has the form of a Pusher socket id: two
// runs of decimal digits separated by one dot (^\d+\.\d+$), of bounded length.
func ValidSocketID(s string) bool {
	if len(s) < 3 || len(s) > maxSocketIDLen {
		return false
	}
	dot := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && dot < 0:
			dot = i
		default:
			return false
		}
	}
	return dot > 0 && dot < len(s)-1
}

// ValidChannelName reports whether s is an acceptable Pusher channel name: at
// most MaxChannelNameLen bytes matching ^#?[-a-zA-Z0-9_=@,.;]+$.
func ValidChannelName(s string) bool {
	if len(s) > MaxChannelNameLen {
		return false
	}
	if len(s) > 0 && s[0] == '#' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !channelByte(s[i]) {
			return false
		}
	}
	return true
}

// ValidServerToUserChannel reports whether s is "#server-to-user-" followed
// by a user id: 1 to MaxChannelNameLen bytes of valid UTF-8 without spaces or
// control characters. User ids are identity-provider subjects ("auth0|42"),
// which the channel-name alphabet cannot hold; the protocol only ever lets a
// socket subscribe to the channel of the user it signed in as, so the wider
// alphabet cannot widen anyone's access.
func ValidServerToUserChannel(s string) bool {
	id, ok := strings.CutPrefix(s, PrefixServerToUser)
	if !ok || id == "" || len(id) > MaxChannelNameLen || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if r <= ' ' || r == 0x7f || unicode.IsControl(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

func channelByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '=', '@', ',', '.', ';':
		return true
	}
	return false
}
