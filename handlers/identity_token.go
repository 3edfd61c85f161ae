package handlers

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/internal/httpx"
	"gatehouse/issuer"
)

// jwtMediaType is the media type of a bare JWT (RFC 7519 §10.3.1).
const jwtMediaType = "application/jwt"

// wantsBareJWT reports whether a token request wants the bare token rather
// than the JSON token response: its Accept names application/jwt, or it asks
// for the ably profile and accepts text/plain, as ably-js's authUrl does
// ("Accept: application/json, text/plain" — it reads a JSON answer as
// TokenDetails, which ours is not).
func wantsBareJWT(accept, profile string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" {
			continue
		}
		if mt == jwtMediaType || (profile == issuer.AblyProfile && mt == "text/plain") {
			return true
		}
	}
	return false
}

// answerToken writes a minted token: the bare JWT as application/jwt when
// the request wants it, else the JSON token response.
func answerToken(c *gin.Context, tok issuer.Token, profile string) {
	if wantsBareJWT(c.GetHeader("Accept"), profile) {
		c.Data(http.StatusOK, jwtMediaType, []byte(tok.Value))
		return
	}
	c.JSON(http.StatusOK, tokenResponse{
		AccessToken: tok.Value, TokenType: "Bearer",
		ExpiresIn: int64(tok.ExpiresAt.Sub(tok.IssuedAt) / time.Second),
	})
}

// abortMintError answers a failed Mint: the caller's mistakes (a missing or
// bad profile parameter, an algorithm the profile cannot use) are 400, a
// channel the policy does not grant is 403, anything else is logged and 500.
func abortMintError(c *gin.Context, log *slog.Logger, err error) {
	switch {
	case errors.Is(err, issuer.ErrProfileParam):
		abort(c, http.StatusBadRequest, httpx.CodeInvalidRequest, "missing or malformed profile parameter")
	case errors.Is(err, issuer.ErrUnsupportedAlg):
		abort(c, http.StatusBadRequest, httpx.CodeInvalidRequest, "the profile cannot be signed with that alg")
	case errors.Is(err, issuer.ErrUnknownProfile):
		abort(c, http.StatusBadRequest, httpx.CodeInvalidRequest, "unknown profile")
	case errors.Is(err, issuer.ErrChannelNotGranted):
		abort(c, http.StatusForbidden, httpx.CodeAccessDenied, "the policy does not grant that channel")
	default:
		log.ErrorContext(c.Request.Context(), "mint failed", "err", err)
		abort(c, http.StatusInternalServerError, httpx.CodeServerError, "could not mint a token")
	}
}

// tokenFormFields reads alg, profile and channel from a form-encoded token
// request body (ably-js posts its authParams that way).
func tokenFormFields(body []byte) (alg, profile, channel string, err error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return "", "", "", err
	}
	return v.Get("alg"), v.Get("profile"), v.Get("channel"), nil
}
