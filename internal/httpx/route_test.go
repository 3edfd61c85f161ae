package httpx

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMux(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request, ip string) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			WriteBodyError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "ip": ip, "len": strings.Repeat("x", len(b)%3)})
	}
	mux := Mux([]Route{
		{Method: "POST", Pattern: "/apps/{id}/events", Handler: echo},
		{Method: "GET", Pattern: "/apps/{id}/events", Handler: echo},
	}, nil)
	for _, tc := range []struct {
		method, path, body string
		chunked            bool
		status             int
		code, id           string
	}{
		{"POST", "/apps/a1/events", "x", false, 200, "", "a1"},
		{"GET", "/apps/a2/events", "", false, 200, "", "a2"},
		{"DELETE", "/apps/a1/events", "", false, 405, CodeInvalidRequest, ""},
		{"GET", "/nope", "", false, 404, CodeNotFound, ""},
		{"POST", "/apps/a1/events", strings.Repeat("x", MaxBodyBytes+1), false, 413, CodeTooLarge, ""},
		{"POST", "/apps/a1/events", strings.Repeat("x", MaxBodyBytes+1), true, 413, CodeTooLarge, ""},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		if tc.chunked {
			req.ContentLength = -1
		}
		req.RemoteAddr = "[2001:db8::1]:4000"
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		var body map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != tc.status || body["error"] != tc.code || body["id"] != tc.id {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
		if tc.status == 200 && body["ip"] != "2001:db8::1" {
			t.Errorf("client ip %q", body["ip"])
		}
	}
}

func TestRateLimiterAdmit(t *testing.T) {
	l := NewRateLimiter(2, 60e9, nil)
	for i, want := range []bool{true, true, false} {
		rec := httptest.NewRecorder()
		if got := l.Admit(rec, "192.0.2.1", "slow down"); got != want {
			t.Fatalf("request %d admitted %v", i, got)
		}
		if !want && (rec.Code != 429 || rec.Header().Get("Retry-After") != "30" || !strings.Contains(rec.Body.String(), CodeRateLimited)) {
			t.Fatalf("refusal %d %v %s", rec.Code, rec.Header(), rec.Body)
		}
	}
	if !l.Admit(httptest.NewRecorder(), "192.0.2.2", "") {
		t.Fatal("another client shares the budget")
	}
}

// One IPv6 line (a /64) has one budget however many of its addresses it
// uses; its neighbour has its own.
func TestRateLimiterIPv6Per64(t *testing.T) {
	l := NewRateLimiter(2, time.Minute, nil)
	if ok, _ := l.Allow("2001:db8:1:2::1"); !ok {
		t.Fatal("first")
	}
	if ok, _ := l.Allow("2001:db8:1:2::ffff"); !ok {
		t.Fatal("second")
	}
	if ok, _ := l.Allow("2001:db8:1:2:dead:beef::1"); ok {
		t.Fatal("a third address of the same /64 got a fresh budget")
	}
	if ok, _ := l.Allow("2001:db8:1:3::1"); !ok {
		t.Fatal("another /64 shares the budget")
	}
	if ok, _ := l.Allow("::ffff:192.0.2.1"); !ok {
		t.Fatal("mapped IPv4")
	}
	if ok, _ := l.Allow("192.0.2.1"); !ok {
		t.Fatal("IPv4 and its mapped form")
	}
	if ok, _ := l.Allow("192.0.2.1"); ok {
		t.Fatal("IPv4 and its mapped form are one address")
	}
}

// An address spray that fills the limiter's table does not lock newcomers
// out: buckets are evicted to make room, within the bound.
func TestRateLimiterFullTableAdmitsNewcomers(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := NewRateLimiter(1, time.Hour, func() time.Time { return now })
	for i := range rateShards * maxBucketsPerShard * 2 {
		now = now.Add(time.Microsecond)
		_, _ = l.Allow(fmt.Sprintf("10.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff))
	}
	now = now.Add(time.Microsecond)
	if ok, _ := l.Allow("192.0.2.77"); !ok {
		t.Fatal("a newcomer was refused because the table was full")
	}
	n := 0
	for i := range l.shards {
		n += len(l.shards[i].buckets)
	}
	if n > rateShards*maxBucketsPerShard {
		t.Fatalf("%d buckets kept, bound %d", n, rateShards*maxBucketsPerShard)
	}
}
