package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/oidc"
)

type tokenAnswer struct {
	AccessToken     string `json:"access_token"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	IssuedTokenType string `json:"issued_token_type"`
	Scope           string `json:"scope"`
}

func (r *authRig) token(t *testing.T, form url.Values, hdr ...string) (int, tokenAnswer, string) {
	t.Helper()
	rec := r.do("POST", "/token", form.Encode(), hdr...)
	var a tokenAnswer
	_ = json.Unmarshal(rec.Body.Bytes(), &a)
	return rec.Code, a, rec.Body.String()
}

func TestTokenFromSession(t *testing.T) {
	rig := newAuthRig(t)
	ck := "gatehouse=" + rig.login(t).Value
	tests := []struct {
		name   string
		hdr    []string
		form   url.Values
		status int
		scope  string
	}{
		{"same-origin Origin", []string{"Origin", authOrigin}, nil, 200,
			"realtime:subscriber:read:topic:public-* realtime:subscriber:read:topic:private-chat realtime:subscriber:read:topic:private-user-alice realtime:publisher:write:topic:private-chat"},
		{"Sec-Fetch-Site same-origin", []string{"Sec-Fetch-Site", "same-origin"}, nil, 200, ""},
		{"cross-origin", []string{"Origin", "https://evil.example"}, nil, 403, ""},
		{"null origin", []string{"Origin", "null"}, nil, 403, ""},
		{"no origin at all", nil, nil, 403, ""},
		{"scope narrows", []string{"Origin", authOrigin},
			url.Values{"scope": {"realtime:subscriber:read:topic:private-chat realtime:publisher:write:topic:*"}}, 200,
			"realtime:subscriber:read:topic:private-chat"},
		{"scope never widens", []string{"Origin", authOrigin},
			url.Values{"scope": {"realtime:subscriber:read:topic:*"}}, 403, ""},
		{"scope of a narrower glob", []string{"Origin", authOrigin},
			url.Values{"scope": {"realtime:subscriber:read:topic:public-news-*"}}, 200,
			"realtime:subscriber:read:topic:public-news-*"},
		{"malformed scope", []string{"Origin", authOrigin}, url.Values{"scope": {"write everything"}}, 400, ""},
		{"unknown profile", []string{"Origin", authOrigin}, url.Values{"profile": {"nope"}}, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := tt.form
			if form == nil {
				form = url.Values{}
			}
			code, a, body := rig.token(t, form, append([]string{"Cookie", ck}, tt.hdr...)...)
			if code != tt.status {
				t.Fatalf("status %d, want %d: %s", code, tt.status, body)
			}
			if code != 200 {
				return
			}
			if a.TokenType != "Bearer" || a.IssuedTokenType != TokenTypeJWT || a.ExpiresIn <= 0 {
				t.Fatalf("answer %+v", a)
			}
			if tt.scope != "" && a.Scope != tt.scope {
				t.Fatalf("scope %q, want %q", a.Scope, tt.scope)
			}
			c, err := rig.issuer.Verify(a.AccessToken)
			if err != nil || c.Subject != "alice" || c.SessionID == "" || c.Anonymous {
				t.Fatalf("minted token: %+v %v", c, err)
			}
		})
	}
	if code, _, _ := rig.token(t, url.Values{}, "Origin", authOrigin); code != http.StatusUnauthorized {
		t.Fatalf("no session: %d", code)
	}
}

func TestTokenExchange(t *testing.T) {
	rig := newAuthRig(t)
	ck := "gatehouse=" + rig.login(t).Value
	_, own, _ := rig.token(t, url.Values{"scope": {"realtime:subscriber:read:topic:private-chat"}}, "Cookie", ck, "Origin", authOrigin)
	idToken := rig.idp.Sign(rig.idp.IDTokenClaims(""))
	wrongAud := rig.idp.IDTokenClaims("")
	wrongAud["aud"] = "other"
	ex := func(typ, tok string) url.Values {
		return url.Values{"grant_type": {TokenExchangeGrant}, "subject_token": {tok}, "subject_token_type": {typ}}
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
		check  func(t *testing.T, a tokenAnswer)
	}{
		{"id_token", ex(oidc.TokenTypeIDToken, idToken), 200, nil},
		{"id_token for another client", ex(oidc.TokenTypeIDToken, rig.idp.Sign(wrongAud)), 401, nil},
		{"opaque access_token", ex(oidc.TokenTypeAccessToken, rig.idp.AccessToken()), 200, nil},
		{"unknown access_token", ex(oidc.TokenTypeAccessToken, "garbage"), 401, nil},
		{"our own jwt keeps its narrower grants", ex(TokenTypeJWT, own.AccessToken), 200, func(t *testing.T, a tokenAnswer) {
			if a.Scope != "realtime:subscriber:read:topic:private-chat" {
				t.Fatalf("re-exchange widened to %q", a.Scope)
			}
		}},
		{"forged jwt", ex(TokenTypeJWT, own.AccessToken[:len(own.AccessToken)-4]+"AAAA"), 401, nil},
		{"unknown subject type", ex("urn:x", "t"), 400, nil},
		{"missing subject", url.Values{"grant_type": {TokenExchangeGrant}}, 400, nil},
		{"other grant", url.Values{"grant_type": {"password"}}, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Token exchange needs no cookie and no Origin: it is not CSRF-able.
			code, a, body := rig.token(t, tt.form, "Origin", "https://elsewhere.example")
			if code != tt.status {
				t.Fatalf("status %d, want %d: %s", code, tt.status, body)
			}
			if code == 200 {
				c, err := rig.issuer.Verify(a.AccessToken)
				if err != nil || c.Subject != "alice" {
					t.Fatal(c, err)
				}
				if tt.check != nil {
					tt.check(t, a)
				}
			} else if strings.Contains(body, "oidc:") || strings.Contains(body, "issuer:") {
				t.Fatalf("detail leaked: %s", body)
			}
		})
	}
}
