package handlers

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func newChatRouter(t *testing.T, publicURL string) http.Handler {
	t.Helper()
	chat, err := NewChat(ChatConfig{AppID: "dev", AppKey: "k3y", PublicURL: publicURL})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewRouter(ServerConfig{}, NewMetrics(), slog.New(slog.DiscardHandler), chat)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestChatPage(t *testing.T) {
	h := newChatRouter(t, "http://127.0.0.1:9000")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "connect-src 'self' ws://127.0.0.1:9000", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q allows inline code", csp)
	}
	body := rec.Body.String()
	for _, want := range []string{`data-app-key="k3y"`, `data-app-id="dev"`, `data-channel="presence-lobby"`,
		`href="/auth/login?provider=dev&amp;return_to=%2F"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// No inline script: every <script> has a src and an empty body.
	for _, m := range regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(body, -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script: %q", m[0])
		}
	}
	if regexp.MustCompile(`\son[a-z]+=`).MatchString(body) || strings.Contains(body, "style=") {
		t.Error("page has inline event handlers or styles")
	}
}

func TestChatAssets(t *testing.T) {
	h := newChatRouter(t, "https://rt.example.com")
	for _, name := range []string{"chat.js", "pusher-socket.js", "token.js", "chat.css"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/chat/static/"+name, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", name, rec.Code)
		}
		b, _ := io.ReadAll(rec.Body)
		if len(b) == 0 {
			t.Fatalf("%s: empty", name)
		}
		if strings.HasSuffix(name, ".js") && !strings.Contains(rec.Header().Get("Content-Type"), "javascript") {
			t.Errorf("%s: Content-Type %q (modules need a JavaScript type)", name, rec.Header().Get("Content-Type"))
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "wss://rt.example.com") {
		t.Errorf("CSP %q lacks the wss origin", csp)
	}
}

func TestNewChatValidates(t *testing.T) {
	for _, cfg := range []ChatConfig{
		{AppKey: "k", PublicURL: "http://x"},
		{AppID: "dev", PublicURL: "http://x"},
		{AppID: "dev", AppKey: "k", PublicURL: "/relative"},
	} {
		if _, err := NewChat(cfg); err == nil {
			t.Errorf("NewChat(%+v) succeeded", cfg)
		}
	}
}

// The asset directories answer 404, never a listing of their files.
func TestStaticDirectoriesAreNotListed(t *testing.T) {
	h := newChatRouter(t, "https://rt.example.com")
	for _, p := range []string{"/chat/static/", "/chat/static", "/chat/static/./", "/chat/static/%2e/"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code == http.StatusOK || strings.Contains(rec.Body.String(), "chat.js") {
			t.Errorf("%s: %d, listing %q", p, rec.Code, rec.Body.String())
		}
	}
}
