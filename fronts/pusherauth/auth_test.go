package pusherauth

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/apps"
	"gatehouse/authn/authntest"
	"gatehouse/fronts/frontstest"
	"gatehouse/internal/httpx"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// The app of Pusher's published signature vectors.
const (
	vectorKey    = "278d425bdf160c739803"
	vectorSecret = "7ad3773142a6692b25b8"
)

func vectorMasterKey() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

// rig is the endpoints over the fronts' test rig.
type rig struct {
	*authntest.Rig
	auth      *Auth
	decisions *frontstest.Decisions
	bound     *binder
}

// binder records the sessions sockets were bound to.
type binder struct {
	mu    sync.Mutex
	calls []string
}

func (b *binder) BindSession(_ context.Context, appID, socketID, channel, sid string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, appID+" "+socketID+" "+channel+" "+sid)
	return nil
}

type rigOpts struct {
	anonymous bool
	apps      []apps.App
	limit     *httpx.RateLimiter
}

func newRig(t testing.TB, o rigOpts) *rig {
	t.Helper()
	r := &rig{Rig: authntest.New(t, authntest.Config{Policy: frontstest.Policy, Sessions: frontstest.Sessions}),
		decisions: &frontstest.Decisions{}, bound: &binder{}}
	list := o.apps
	if list == nil {
		list = []apps.App{{ID: "chat", Key: vectorKey, Secret: vectorSecret, EncryptionMasterKey: vectorMasterKey()}}
	}
	set, err := apps.New(list...)
	if err != nil {
		t.Fatal(err)
	}
	r.auth, err = New(Config{Apps: set, Anonymous: o.anonymous, AnonymousLimit: o.limit}, r.Resolver,
		httpx.NewCORS("http://127.0.0.1:8080", "https://app.example.com"), r.bound, r.decisions, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) do(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	return frontstest.Do(r.auth.Routes(), method, path, body, hdr...)
}

const formType = "application/x-www-form-urlencoded"

func pusherForm(socketID, channel string) string {
	v := url.Values{"socket_id": {socketID}}
	if channel != "" {
		v.Set("channel_name", channel)
	}
	return v.Encode()
}

func (r *rig) pusherAuth(path, body string, hdr ...string) *httptest.ResponseRecorder {
	return r.do("POST", path, body, append([]string{"Content-Type", formType}, hdr...)...)
}

// TestPusherAuthVectors checks our answers against Pusher's published
// signature vectors.
func TestPusherAuthVectors(t *testing.T) {
	r := newRig(t, rigOpts{})
	for _, tc := range []struct {
		name, path, body, cookie string
		want                     map[string]string
		golden                   string
	}{
		{"private", "/pusher/auth", pusherForm("1234.1234", "private-foobar"), "gatehouse=ada",
			map[string]string{"auth": vectorKey + ":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"},
			"pusherauth_private.golden"},
		{"presence", "/pusher/auth", pusherForm("1234.1234", "presence-foobar"), "gatehouse=ten",
			map[string]string{
				"auth":         vectorKey + ":4c6d8fc42a207ba96a0779844171b0bb819d96ffceef9609f5cce596ab17a800",
				"channel_data": `{"user_id":"10","user_info":{"name":"Mr. Channels"}}`,
			}, "pusherauth_presence.golden"},
		{"encrypted", "/pusher/auth", pusherForm("1234.1234", "private-encrypted-foo"), "gatehouse=ada",
			map[string]string{"shared_secret": "E3I6KxLwqP1Rr/p1676Vpnrw23CkRdS5bkX5NazRkeY="},
			"pusherauth_encrypted.golden"},
		{"signin", "/pusher/user-auth", pusherForm("1234.1234", ""), "gatehouse=signer",
			map[string]string{
				"auth":      vectorKey + ":4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba",
				"user_data": `{"id":"12345"}`,
			}, "pusherauth_signin.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := r.pusherAuth(tc.path, tc.body, "Cookie", tc.cookie)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var got map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			frontstest.CheckGolden(t, tc.golden, frontstest.Dump(t, rec), *update)
		})
	}
}

func TestPusherAuthRejections(t *testing.T) {
	r := newRig(t, rigOpts{anonymous: true})
	noKey := newRig(t, rigOpts{apps: []apps.App{{ID: "plain", Key: "k", Secret: "s0123456789abcdef"}}})
	two := newRig(t, rigOpts{apps: []apps.App{{ID: "a", Key: "ka", Secret: "sa"}, {ID: "b", Key: "kb", Secret: "sb"}}})
	closed := newRig(t, rigOpts{anonymous: false})
	topicsOnly := newRig(t, rigOpts{apps: []apps.App{{ID: "topics"}}})
	good := r.Mint(t, frontstest.Ada, 0)
	for _, tc := range []struct {
		name   string
		rig    *rig
		path   string
		body   string
		hdr    []string
		status int
		code   string
	}{
		{"bad socket id", r, "/pusher/auth", pusherForm("1234", "private-chat"), []string{"Cookie", "gatehouse=ada"}, 400, httpx.CodeInvalidRequest},
		{"socket id with letters", r, "/pusher/auth", pusherForm("12a.4", "private-chat"), []string{"Cookie", "gatehouse=ada"}, 400, httpx.CodeInvalidRequest},
		{"bad channel name", r, "/pusher/auth", pusherForm("1.2", "private-chat room"), []string{"Cookie", "gatehouse=ada"}, 400, httpx.CodeInvalidRequest},
		{"channel too long", r, "/pusher/auth", pusherForm("1.2", "private-"+strings.Repeat("a", 200)), []string{"Cookie", "gatehouse=ada"}, 400, httpx.CodeInvalidRequest},
		{"no channel", r, "/pusher/auth", pusherForm("1.2", ""), []string{"Cookie", "gatehouse=ada"}, 400, httpx.CodeInvalidRequest},
		{"repeated socket id", r, "/pusher/auth", "socket_id=1.2&socket_id=3.4&channel_name=private-chat", []string{"Cookie", "gatehouse=ada"}, 400, httpx.CodeInvalidRequest},
		{"public channel", r, "/pusher/auth", pusherForm("1.2", "public-news"), []string{"Cookie", "gatehouse=ada"}, 400, httpx.CodeInvalidRequest},
		{"server-to-user channel", r, "/pusher/auth", pusherForm("1.2", "#server-to-user-x"), []string{"Cookie", "gatehouse=ada"}, 400, httpx.CodeInvalidRequest},
		{"policy denies", r, "/pusher/auth", pusherForm("1.2", "private-admin"), []string{"Cookie", "gatehouse=ada"}, 403, httpx.CodeAccessDenied},
		{"other user's channel", r, "/pusher/auth", pusherForm("1.2", "private-user-eve"), []string{"Authorization", "Bearer " + good}, 403, httpx.CodeAccessDenied},
		{"presence not granted", r, "/pusher/auth", pusherForm("1.2", "presence-vip"), []string{"Cookie", "gatehouse=ada"}, 403, httpx.CodeAccessDenied},
		{"anonymous private", r, "/pusher/auth", pusherForm("1.2", "private-chat"), nil, 403, httpx.CodeAccessDenied},
		{"anonymous signin", r, "/pusher/user-auth", pusherForm("1.2", ""), nil, 403, httpx.CodeAccessDenied},
		{"no credential, anonymous off", closed, "/pusher/auth", pusherForm("1.2", "presence-lobby"), nil, 401, httpx.CodeInvalidToken},
		{"bad bearer", r, "/pusher/auth", pusherForm("1.2", "private-chat"), []string{"Authorization", "Bearer " + good + "x"}, 401, httpx.CodeInvalidToken},
		{"bad bearer with good cookie", r, "/pusher/auth", pusherForm("1.2", "private-chat"), []string{"Authorization", "Bearer nope", "Cookie", "gatehouse=ada"}, 401, httpx.CodeInvalidToken},
		{"bad cookie", r, "/pusher/auth", pusherForm("1.2", "presence-lobby"), []string{"Cookie", "gatehouse=bad"}, 401, httpx.CodeInvalidToken},
		{"cookie from a foreign origin", r, "/pusher/auth", pusherForm("1.2", "private-chat"), []string{"Cookie", "gatehouse=ada", "Origin", "https://evil.example"}, 403, httpx.CodeAccessDenied},
		{"encrypted without master key", noKey, "/pusher/auth", pusherForm("1.2", "private-encrypted-foo"), []string{"Cookie", "gatehouse=ada"}, 400, httpx.CodeInvalidRequest},
		{"app without Pusher credentials", topicsOnly, "/pusher/auth", pusherForm("1.2", "private-chat"), []string{"Cookie", "gatehouse=ada"}, 400, httpx.CodeInvalidRequest},
		{"app without Pusher credentials, signin", topicsOnly, "/pusher/user-auth?app=topics", pusherForm("1.2", ""), []string{"Cookie", "gatehouse=ada"}, 400, httpx.CodeInvalidRequest},
		{"two apps, none picked", two, "/pusher/auth", pusherForm("1.2", "private-chat"), []string{"Cookie", "gatehouse=ada"}, 400, httpx.CodeInvalidRequest},
		{"unknown app", r, "/pusher/auth?app=nope", pusherForm("1.2", "private-chat"), []string{"Cookie", "gatehouse=ada"}, 400, httpx.CodeInvalidRequest},
		{"body over 64 KiB", r, "/pusher/auth", pusherForm("1.2", "private-chat") + "&pad=" + strings.Repeat("x", 70<<10), []string{"Cookie", "gatehouse=ada"}, 413, httpx.CodeTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.rig.pusherAuth(tc.path, tc.body, tc.hdr...)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if e := frontstest.DecodeError(t, rec); e.Error != tc.code {
				t.Errorf("error %q, want %q", e.Error, tc.code)
			}
			frontstest.CheckGolden(t, "pusherauth_reject_"+goldenSlug(tc.name)+".golden", frontstest.Dump(t, rec), *update)
		})
	}
}

func TestPusherAuthAccepts(t *testing.T) {
	r := newRig(t, rigOpts{anonymous: true})
	two := newRig(t, rigOpts{apps: []apps.App{{ID: "a", Key: "ka", Secret: "sa"}, {ID: "b", Key: "kb", Secret: "sb"}}})
	admin := r.Mint(t, frontstest.Admin, 0)
	for _, tc := range []struct {
		name     string
		rig      *rig
		path     string
		body     string
		hdr      []string
		wantAuth string // prefix
	}{
		{"bearer token", r, "/pusher/auth", pusherForm("1.2", "private-anything"), []string{"Authorization", "Bearer " + admin}, vectorKey + ":"},
		{"JSON body", r, "/pusher/auth", `{"socket_id":"1.2","channel_name":"private-chat"}`, []string{"Content-Type", "application/json", "Cookie", "gatehouse=ada"}, vectorKey + ":"},
		{"own user channel", r, "/pusher/auth", pusherForm("1.2", "private-user-auth0=7C42"), []string{"Cookie", "gatehouse=ada"}, vectorKey + ":"},
		{"anonymous presence-lobby", r, "/pusher/auth", pusherForm("1.2", "presence-lobby"), nil, vectorKey + ":"},
		{"allowed origin", r, "/pusher/auth", pusherForm("1.2", "private-chat"), []string{"Cookie", "gatehouse=ada", "Origin", "https://app.example.com"}, vectorKey + ":"},
		{"app picked", two, "/pusher/auth?app=b", pusherForm("1.2", "private-chat"), []string{"Cookie", "gatehouse=ada"}, "kb:"},
		{"pusher-js extra params", r, "/pusher/auth", pusherForm("1.2", "private-chat") + "&extra=1", []string{"Cookie", "gatehouse=ada"}, vectorKey + ":"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.rig.pusherAuth(tc.path, tc.body, tc.hdr...)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"auth":"`+tc.wantAuth) {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		})
	}
	t.Run("anonymous presence gets a fresh anonymous user", func(t *testing.T) {
		rec := r.pusherAuth("/pusher/auth", pusherForm("1.2", "presence-lobby"))
		// The subject is random, so is the signature over it.
		dump := regexp.MustCompile(vectorKey+`:[0-9a-f]{64}`).ReplaceAll(frontstest.Dump(t, rec), []byte(vectorKey+":<hmac>"))
		frontstest.CheckGolden(t, "pusherauth_presence_anonymous.golden", dump, *update)
	})
}

// A channel authorization with a login session tells the socket's node (so a
// logout closes the socket once it subscribed there); user authentication
// carries the session in the signed user data instead, for the socket to
// present at signin; refusals and anonymous callers bind nothing.
func TestPusherAuthBindsSessions(t *testing.T) {
	r := newRig(t, rigOpts{anonymous: true})
	r.pusherAuth("/pusher/auth", pusherForm("1.2", "private-chat"), "Cookie", "gatehouse=ada")
	r.pusherAuth("/pusher/user-auth", pusherForm("3.4", ""), "Cookie", "gatehouse=ada")
	r.pusherAuth("/pusher/auth", pusherForm("5.6", "private-admin"), "Cookie", "gatehouse=ada") // denied
	r.pusherAuth("/pusher/auth", pusherForm("7.8", "presence-lobby"))                           // anonymous: no session
	r.pusherAuth("/pusher/auth", pusherForm("9.1", "private-chat"), "Authorization", "Bearer "+r.Mint(t, frontstest.Admin, 0))
	want := []string{"chat 1.2 private-chat sid-ada", "chat 9.1 private-chat sid-root"}
	if strings.Join(r.bound.calls, "|") != strings.Join(want, "|") {
		t.Errorf("bound %q, want %q", r.bound.calls, want)
	}
	// The session travels to the socket in the signed user data instead.
	var ua struct {
		UserData string `json:"user_data"`
	}
	rec := r.pusherAuth("/pusher/user-auth", pusherForm("3.4", ""), "Cookie", "gatehouse=ada")
	if err := json.Unmarshal(rec.Body.Bytes(), &ua); err != nil || !strings.Contains(ua.UserData, `"sid":"sid-ada"`) {
		t.Errorf("user_data %q carries no session", ua.UserData)
	}
	if a, d := r.decisions.Count("pusher", "allow"), r.decisions.Count("pusher", "deny"); a != 5 || d != 1 {
		t.Errorf("decisions: %d allowed, %d denied; want 4 and 1", a, d)
	}
}

func TestPusherAuthCORS(t *testing.T) {
	r := newRig(t, rigOpts{})
	for _, tc := range []struct {
		name, method, origin, reqHeaders string
		wantOrigin, wantHeaders          string
		status                           int
	}{
		{"preflight allowed", "OPTIONS", "https://app.example.com", "content-type,x-csrf-token", "https://app.example.com", "content-type,x-csrf-token", 204},
		{"preflight public url", "OPTIONS", "http://127.0.0.1:8080", "", "http://127.0.0.1:8080", "Authorization, Content-Type", 204},
		{"preflight foreign", "OPTIONS", "https://evil.example", "content-type", "", "", 204},
		{"preflight bad header list", "OPTIONS", "https://app.example.com", "a\r\nb", "https://app.example.com", "Authorization, Content-Type", 204},
		{"origin with path is not an origin", "OPTIONS", "https://app.example.com/x", "", "", "", 204},
		{"post allowed", "POST", "https://app.example.com", "", "https://app.example.com", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{"Origin", tc.origin, "Cookie", "gatehouse=ada", "Content-Type", formType}
			if tc.reqHeaders != "" {
				hdr = append(hdr, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", tc.reqHeaders)
			}
			rec := r.do(tc.method, "/pusher/auth", pusherForm("1.2", "private-chat"), hdr...)
			if rec.Code != tc.status {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			h := rec.Header()
			if h.Get("Access-Control-Allow-Origin") != tc.wantOrigin {
				t.Errorf("ACAO = %q", h.Get("Access-Control-Allow-Origin"))
			}
			if tc.wantOrigin != "" && h.Get("Access-Control-Allow-Credentials") != "true" {
				t.Error("credentials not allowed")
			}
			if tc.method == "OPTIONS" && h.Get("Access-Control-Allow-Headers") != tc.wantHeaders {
				t.Errorf("ACAH = %q, want %q", h.Get("Access-Control-Allow-Headers"), tc.wantHeaders)
			}
			if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Error("no Vary: Origin")
			}
		})
	}
}

func TestParsePusherAuth(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body string
		channel        bool
		ok             bool
	}{
		{"form", formType, "socket_id=1.2&channel_name=private-a", true, true},
		{"form with charset", formType + "; charset=UTF-8", "socket_id=1.2&channel_name=private-a", true, true},
		{"no content type", "", "socket_id=1.2&channel_name=private-a", true, true},
		{"json", "application/json", `{"socket_id":"1.2","channel_name":"private-a"}`, true, true},
		{"json wrong type", "application/json", `{"socket_id":1.2,"channel_name":"private-a"}`, true, false},
		{"bad escape", formType, "socket_id=1.2&channel_name=%zz", true, false},
		{"user auth needs no channel", formType, "socket_id=1.2", false, true},
		{"socket id dotless", formType, "socket_id=12", false, false},
		{"socket id too long", formType, "socket_id=" + strings.Repeat("1", 30) + "." + strings.Repeat("2", 30), false, false},
		{"cache channel", formType, "socket_id=1.2&channel_name=private-cache-a", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parsePusherAuth(tc.ct, []byte(tc.body), tc.channel)
			if (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func FuzzPusherAuthForm(f *testing.F) {
	for _, s := range []string{
		"socket_id=1234.1234&channel_name=private-foobar",
		"socket_id=1.2&channel_name=presence-a%3Bb",
		"socket_id=1.2&socket_id=1.3",
		`{"socket_id":"1.2","channel_name":"private-x"}`,
		"channel_name=%00", "",
	} {
		f.Add(formType, []byte(s))
		f.Add("application/json", []byte(s))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		req, err := parsePusherAuth(ct, body, true)
		if err != nil {
			return
		}
		for _, c := range req.SocketID {
			if (c < '0' || c > '9') && c != '.' {
				t.Fatalf("accepted socket id %q", req.SocketID)
			}
		}
		for _, c := range []byte(req.ChannelName) {
			if c <= ' ' || c == ':' || c == '"' || c >= 0x7f {
				t.Fatalf("accepted channel %q", req.ChannelName)
			}
		}
	})
}

// goldenSlug turns a test case name into a plain file name part.
func goldenSlug(name string) string {
	return strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(name), "_"), "_")
}

// V5: every credential-less authorization mints an anonymous identity; one
// address gets no more than the anonymous budget (429 with Retry-After).
// Callers with a credential are not counted.
func TestPusherAuthAnonymousIsRateLimited(t *testing.T) {
	r := newRig(t, rigOpts{anonymous: true, limit: httpx.NewRateLimiter(3, time.Minute, nil)})
	for i := range 3 {
		if rec := r.pusherAuth("/pusher/auth", pusherForm(fmt.Sprintf("1.%d", i+1), "presence-lobby")); rec.Code != 200 {
			t.Fatalf("anonymous authorization %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := r.pusherAuth("/pusher/auth", pusherForm("1.9", "presence-lobby"))
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("4th anonymous authorization: %d %s", rec.Code, rec.Body)
	}
	if rec := r.pusherAuth("/pusher/auth", pusherForm("2.1", "presence-lobby"), "Cookie", "gatehouse=ada"); rec.Code != 200 {
		t.Fatalf("a session caller is not limited: %d", rec.Code)
	}
}
