package devidp

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestCodeFlowChecks(t *testing.T) {
	idp, err := New(Config{Issuer: "http://127.0.0.1:1/dev-idp", Roles: []string{"admin"},
		Clients: []Client{{ID: "c", Secret: "s", RedirectURIs: []string{"http://127.0.0.1:1/auth/callback"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("verifier-verifier-verifier-verifier-123"))
	params := url.Values{"client_id": {"c"}, "redirect_uri": {"http://127.0.0.1:1/auth/callback"}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"st"}, "nonce": {"n"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	submit := func(form url.Values, csrfCookie string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/dev-idp/authorize", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if csrfCookie != "" {
			r.AddCookie(&http.Cookie{Name: "devidp_csrf", Value: csrfCookie})
		}
		w := httptest.NewRecorder()
		idp.ServeHTTP(w, r)
		return w
	}
	form := url.Values{"username": {"ada"}, "role": {"admin", "root"}, "csrf": {"tok"}}
	for k, v := range params {
		form[k] = v
	}
	if w := submit(form, "other"); w.Code != http.StatusForbidden {
		t.Fatalf("csrf mismatch: %d", w.Code)
	}
	w := submit(form, "tok")
	if w.Code != http.StatusFound {
		t.Fatalf("submit: %d %s", w.Code, w.Body)
	}
	loc, _ := url.Parse(w.Header().Get("Location"))
	code := loc.Query().Get("code")
	exchange := func(verifier string) int {
		f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {params.Get("redirect_uri")}, "code_verifier": {verifier}}
		r := httptest.NewRequest("POST", "/dev-idp/token", strings.NewReader(f.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("c", "s")
		w := httptest.NewRecorder()
		idp.ServeHTTP(w, r)
		return w.Code
	}
	if c := exchange("wrong-verifier"); c != http.StatusBadRequest {
		t.Fatalf("bad PKCE verifier: %d", c)
	}
	// The failed attempt consumed the code: codes are single-use.
	if c := exchange("verifier-verifier-verifier-verifier-123"); c != http.StatusBadRequest {
		t.Fatalf("code reused: %d", c)
	}
	bad := url.Values{}
	for k, v := range params {
		bad[k] = v
	}
	bad.Set("redirect_uri", "https://evil.example/cb")
	r := httptest.NewRequest("GET", "/dev-idp/authorize?"+bad.Encode(), nil)
	w = httptest.NewRecorder()
	idp.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "DEVELOPMENT ONLY") {
		t.Fatalf("unregistered redirect_uri: %d", w.Code)
	}
}
