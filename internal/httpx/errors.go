package httpx

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// OAuth-style error codes of the JSON error body (README, "HTTP endpoints").
const (
	CodeInvalidRequest = "invalid_request"
	CodeInvalidToken   = "invalid_token"
	CodeAccessDenied   = "access_denied"
	CodeRateLimited    = "rate_limited"
	CodeServerError    = "server_error"
	CodeNotFound       = "not_found"
	CodeTooLarge       = "request_too_large"
	CodeUnavailable    = "temporarily_unavailable"
)

// MaxBodyBytes is the largest request body any endpoint accepts.
const MaxBodyBytes = 64 << 10

// Header values every JSON answer carries, shared (never modified) so that
// writing them allocates nothing.
var (
	jsonTypeValue = []string{"application/json; charset=utf-8"}
	noStoreValue  = []string{"no-store"}
)

// ErrorBody is the JSON error every endpoint answers with.
type ErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// WriteError writes the JSON error body {"error","error_description"} with
// status. The description is generic: details belong in the log.
func WriteError(w http.ResponseWriter, status int, code, desc string) {
	WriteJSON(w, status, ErrorBody{Error: code, Description: desc})
}

// WriteJSON writes v as JSON with status, uncacheable. A value that cannot
// be encoded is a 500 server_error.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(ErrorBody{Error: CodeServerError, Description: "could not encode the answer"})
	}
	h := w.Header()
	h["Content-Type"] = jsonTypeValue
	if _, ok := h["Cache-Control"]; !ok {
		h["Cache-Control"] = noStoreValue
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// WriteBodyError answers a failed body read: 413 when the body was larger
// than allowed, 400 otherwise.
func WriteBodyError(w http.ResponseWriter, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, "request body larger than 64 KiB")
		return
	}
	WriteError(w, http.StatusBadRequest, CodeInvalidRequest, "request body could not be read")
}

// BodyReadTimeout bounds how long a request body may take to arrive: a
// client trickling a byte now and then cannot hold a connection open.
const BodyReadTimeout = 10 * time.Second

// bodyReadTimeout is BodyReadTimeout; tests shorten it.
var bodyReadTimeout = BodyReadTimeout

// LimitBody makes reading r's body fail past MaxBodyBytes and past
// BodyReadTimeout. It reports false, having answered 413, when
// Content-Length already says so.
func LimitBody(w http.ResponseWriter, r *http.Request) bool {
	if r.ContentLength > MaxBodyBytes {
		w.Header().Set("Connection", "close")
		WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, "request body larger than 64 KiB")
		return false
	}
	if r.Body == nil || r.Body == http.NoBody {
		return true // a GET (WebSocket upgrades among them): nothing to wait for
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(bodyReadTimeout)) == nil {
		r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	return true
}

// deadlineBody lifts the body's read deadline once the body is read whole, so the
// server's watch for a vanished client is not cut short while the handler
// works on.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	// Only a body read to its end lifts the deadline: after a failed read
	// the server discards what is left, and must not wait for it forever.
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
