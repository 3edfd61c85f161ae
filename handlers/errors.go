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
// parseForm reads a form body before the handler does, so that a body
// over the limit (chunked ones included) or one that stalls is answered 413
// or 400 here, not taken for an empty form further on.
func parseForm(c *gin.Context) {
	if err := c.Request.ParseForm(); err != nil {
		abortBodyError(c, err)
		return
	}
	c.Next()
}

func abortBodyError(c *gin.Context, err error) {
	httpx.WriteBodyError(c.Writer, err)
	c.Abort()
}
