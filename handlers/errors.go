package handlers

import (
	"github.com/gin-gonic/gin"

	"gatehouse/internal/httpx"
)

// abort writes the JSON error body (httpx.WriteError) and stops the handler
// chain.
func abort(c *gin.Context, status int, code, desc string) {
	httpx.WriteError(c.Writer, status, code, desc)
	c.Abort()
}

// abortBodyError answers a failed body read: 413 when the body was too
// large, 400 otherwise.
func abortBodyError(c *gin.Context, err error) {
	httpx.WriteBodyError(c.Writer, err)
	c.Abort()
}
