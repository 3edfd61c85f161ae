package centrifugo

import (
	"strconv"
	"unicode/utf8"
)

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// appendConnect encodes the connect answer by hand: it is on the path of
// every connection, and reflection over it cost a tenth of the request.
func appendConnect(b []byte, r connectResult) []byte {
	b = append(b, `{"result":{"user":`...)
	b = appendString(b, r.User)
	if r.ExpireAt != 0 {
		b = append(b, `,"expire_at":`...)
		b = strconv.AppendInt(b, r.ExpireAt, 10)
	}
	if len(r.Info) > 0 {
		b = append(b, `,"info":`...)
		b = append(b, r.Info...)
	}
	if len(r.Channels) > 0 {
		b = append(b, `,"channels":`...)
		b = appendStrings(b, r.Channels)
	}
	if m := r.Meta; m != nil {
		b = append(b, `,"meta":{"sub":`...)
		b = appendString(b, m.Sub)
		if m.SID != "" {
			b = append(b, `,"sid":`...)
			b = appendString(b, m.SID)
		}
		b = append(b, `,"end":`...)
		b = strconv.AppendInt(b, m.End, 10)
		if m.Anon {
			b = append(b, `,"anon":true`...)
		}
		b = append(b, `,"permissions":`...)
		b = appendStrings(b, m.Permissions)
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

func appendStrings(b []byte, l []string) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}
