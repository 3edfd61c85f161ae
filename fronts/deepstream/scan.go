package deepstream

import (
	"encoding/json"
	"errors"
)

// errScan is returned by the JSON scanner for input that is not JSON.
var errScan = errors.New("deepstream: invalid JSON")

// maxScanDepth bounds nesting, as encoding/json does (10000).
const maxScanDepth = 10000

// dsScanner is a strict RFC 8259 scanner that walks a deepstream webhook
// body once and keeps the raw JSON of the only values the webhook reads:
// connectionData.headers.cookie and authData (and authData.token). It exists
// because encoding/json validates and then decodes a body whose forwarded
// headers are most of its bytes; this walks them once without allocating.
// It accepts exactly what json.Valid accepts (the fuzz test checks it
// against encoding/json); like encoding/json, a repeated key's last value
// wins. Keys are matched exactly.
type dsScanner struct {
	b     []byte
	i     int
	depth int

	cookie, remote, authData, token []byte
	authKeys                        int
}

func (s *dsScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value; path says which of the watched places it is at.
func (s *dsScanner) value(path int) ([]byte, error) {
	s.ws()
	if s.i >= len(s.b) {
		return nil, errScan
	}
	start := s.i
	var err error
	switch c := s.b[s.i]; {
	case c == '{':
		err = s.object(path)
	case c == '[':
		err = s.array()
	case c == '"':
		_, err = s.str()
	case c == 't':
		err = s.lit("true")
	case c == 'f':
		err = s.lit("false")
	case c == 'n':
		err = s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		err = s.num()
	default:
		err = errScan
	}
	return s.b[start:s.i], err
}

// Watched places in the body.
const (
	atOther = iota
	atTop
	atConnectionData
	atHeaders
	atAuthData
)

func (s *dsScanner) object(path int) error {
	if s.depth++; s.depth > maxScanDepth {
		return errScan
	}
	s.i++ // {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return nil
	}
	for {
		s.ws()
		key, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return errScan
		}
		s.i++
		next := atOther
		k := unquoteKey(key)
		switch {
		case path == atTop && k == "connectionData":
			next = atConnectionData
		case path == atTop && k == "authData":
			next = atAuthData
		case path == atConnectionData && k == "headers":
			next = atHeaders
		}
		// A repeated key's last value wins entirely: forget what an earlier
		// one held.
		switch next {
		case atConnectionData:
			s.cookie, s.remote = nil, nil
		case atHeaders:
			s.cookie = nil
		case atAuthData:
			s.token, s.authKeys = nil, 0
		}
		if path == atAuthData {
			s.authKeys++
		}
		v, err := s.value(next)
		if err != nil {
			return err
		}
		switch {
		case path == atTop && next == atAuthData:
			s.authData = v
		case path == atHeaders && k == "cookie":
			s.cookie = v
		case path == atConnectionData && k == "remoteAddress":
			s.remote = v
		case path == atAuthData && k == "token":
			s.token = v
		}
		s.ws()
		if s.i >= len(s.b) {
			return errScan
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return nil
		default:
			return errScan
		}
	}
}

func (s *dsScanner) array() error {
	if s.depth++; s.depth > maxScanDepth {
		return errScan
	}
	s.i++ // [
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if _, err := s.value(atOther); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return errScan
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return nil
		default:
			return errScan
		}
	}
}

// str scans a string and returns it raw, quotes included. Control bytes
// are refused and escapes checked; UTF-8 is not (encoding/json accepts
// invalid UTF-8 too, replacing it when decoding).
func (s *dsScanner) str() ([]byte, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, errScan
	}
	start := s.i
	s.i++
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start:s.i], nil
		case c < 0x20:
			return nil, errScan
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return nil, errScan
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+4 >= len(s.b) {
					return nil, errScan
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return nil, errScan
					}
				}
				s.i += 5
			default:
				return nil, errScan
			}
		default:
			s.i++
		}
	}
	return nil, errScan
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (s *dsScanner) lit(want string) error {
	if len(s.b)-s.i < len(want) || string(s.b[s.i:s.i+len(want)]) != want {
		return errScan
	}
	s.i += len(want)
	return nil
}

// num scans a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *dsScanner) num() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return errScan
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return errScan
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return errScan
		}
	}
	return nil
}

// scanDeepstreamBody scans body, which must be one JSON object.
func scanDeepstreamBody(body []byte) (*dsScanner, error) {
	s := &dsScanner{b: body}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return nil, errScan
	}
	if _, err := s.value(atTop); err != nil {
		return nil, err
	}
	s.ws()
	if s.i != len(s.b) {
		return nil, errScan
	}
	return s, nil
}

// unquoteKey returns a raw JSON key's text: the bytes between the quotes
// (no allocation when compared at once) or, when it holds escapes, the
// decoded string, so "auth\u0044ata" names authData as encoding/json says.
func unquoteKey(raw []byte) string {
	for _, c := range raw {
		if c == '\\' {
			var k string
			_ = json.Unmarshal(raw, &k) // raw was scanned: cannot fail
			return k
		}
	}
	return string(raw[1 : len(raw)-1])
}

// jsonString decodes a raw JSON string value with encoding/json's rules.
func jsonString(raw []byte, dst *string) error { return json.Unmarshal(raw, dst) }
