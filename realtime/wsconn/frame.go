package wsconn

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"io"
	"sync"
)

// Frame opcodes used here.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Close codes of RFC 6455 used by the transport.
const (
	CloseNormal        = 1000
	CloseGoingAway     = 1001
	CloseProtocolError = 1002
	CloseInvalidData   = 1007
	CloseTooBig        = 1009
	CloseInternalError = 1011
)

// appendHeader appends an unmasked frame header.
func appendHeader(b []byte, fin bool, rsv1 bool, op byte, n int) []byte {
	first := op
	if fin {
		first |= 0x80
	}
	if rsv1 {
		first |= 0x40
	}
	switch {
	case n < 126:
		return append(b, first, byte(n))
	case n <= 0xFFFF:
		return append(b, first, 126, byte(n>>8), byte(n))
	default:
		b = append(b, first, 127)
		return binary.BigEndian.AppendUint64(b, uint64(n))
	}
}

// TextFrame returns a complete, unmasked, uncompressed text frame carrying
// payload, ready for Conn.Send on any connection.
func TextFrame(payload []byte) []byte {
	b := make([]byte, 0, len(payload)+10)
	b = appendHeader(b, true, false, opText, len(payload))
	return append(b, payload...)
}

// CloseFrame returns a close frame with code and reason (reason cut to fit
// the 125-byte limit of control frames).
func CloseFrame(code int, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	p := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	p = append(p, reason...)
	b := appendHeader(make([]byte, 0, len(p)+2), true, false, opClose, len(p))
	return append(b, p...)
}

func controlFrame(op byte, payload []byte) []byte {
	b := appendHeader(make([]byte, 0, len(payload)+2), true, false, op, len(payload))
	return append(b, payload...)
}

// compressThreshold: smaller payloads are sent uncompressed even on
// connections that negotiated compression; deflate would not pay for itself.
const compressThreshold = 128

var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

// CompressedTextFrame returns a text frame carrying payload compressed for
// permessage-deflate without context takeover (RSV1 set), shareable by every
// connection for which Conn.Compressed is true. Small payloads come back as a
// plain TextFrame.
func CompressedTextFrame(payload []byte) []byte {
	if len(payload) < compressThreshold {
		return TextFrame(payload)
	}
	var buf bytes.Buffer
	buf.Grow(len(payload)/2 + 16)
	w := flateWriters.Get().(*flate.Writer)
	w.Reset(&buf)
	_, _ = w.Write(payload)
	_ = w.Flush()
	flateWriters.Put(w)
	p := buf.Bytes()
	// RFC 7692 §7.2.1: drop the 0x00 0x00 0xff 0xff tail of the sync flush.
	p = bytes.TrimSuffix(p, []byte{0, 0, 0xff, 0xff})
	b := make([]byte, 0, len(p)+10)
	b = appendHeader(b, true, true, opText, len(p))
	return append(b, p...)
}

var flateReaders = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

var deflateTail = []byte{0, 0, 0xff, 0xff}

var errTooBig = errors.New("wsconn: message too big")

// decompress inflates a permessage-deflate payload, refusing to produce more
// than limit bytes.
func decompress(p []byte, limit int) ([]byte, error) {
	r := flateReaders.Get().(io.ReadCloser)
	defer flateReaders.Put(r)
	_ = r.(flate.Resetter).Reset(io.MultiReader(bytes.NewReader(p), bytes.NewReader(deflateTail)), nil)
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	if len(out) > limit {
		return nil, errTooBig
	}
	return out, nil
}
