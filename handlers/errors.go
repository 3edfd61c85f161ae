package handlers

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
)

// OAuth-style error codes of SPEC §3.
const (
	codeInvalidRequest = "invalid_request"
	codeInvalidToken   = "invalid_token"
	codeAccessDenied   = "access_denied"
	codeRateLimited    = "rate_limited"
	codeServerError    = "server_error"
	codeNotFound       = "not_found"
	codeTooLarge       = "request_too_large"
	codeUnavailable    = "temporarily_unavailable"
)

// errorBody is the JSON error of SPEC §3.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// abort writes a JSON error and stops the handler chain.
func abort(c *gin.Context, status int, code, desc string) {
	c.AbortWithStatusJSON(status, errorBody{Error: code, Description: desc})
}

// abortBodyError answers a failed body read: 413 when the body was too
// large, 400 otherwise.
func abortBodyError(c *gin.Context, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		abort(c, http.StatusRequestEntityTooLarge, codeTooLarge, "request body larger than 64 KiB")
		return
	}
	abort(c, http.StatusBadRequest, codeInvalidRequest, "request body could not be read")
}
