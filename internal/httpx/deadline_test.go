package httpx

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A client trickling its body a byte at a time is cut off after the body
// read timeout with an error, instead of holding the connection (and a
// goroutine) for as long as it likes.
func TestSlowBodyIsCutOff(t *testing.T) {
	old := bodyReadTimeout
	bodyReadTimeout = 300 * time.Millisecond
	t.Cleanup(func() { bodyReadTimeout = old })
	srv := httptest.NewServer(Mux([]Route{{Method: http.MethodPost, Pattern: "/x", Handler: func(w http.ResponseWriter, r *http.Request, _ string) {
		if _, err := io.ReadAll(r.Body); err != nil {
			WriteBodyError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{})
	}}}, nil))
	t.Cleanup(srv.Close)

	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\na"); err != nil {
		t.Fatal(err)
	}
	// The client sends nothing more; the server must answer on its own.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", res.StatusCode)
	}

	// A body that arrives in time is read whole, and the deadline it had
	// does not outlive it.
	res, err = http.Post(srv.URL+"/x", "text/plain", strings.NewReader("fine"))
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("normal body: %v %v", res, err)
	}
	res.Body.Close()
}
