package handlers

import (
	"fmt"
	"gatehouse/internal/httpx"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// noStore marks every response uncacheable; the JWKS and discovery handlers
// override it.
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Next()
}

// limitBody refuses bodies over httpx.MaxBodyBytes: at once when
// Content-Length says so, otherwise when the handler reads past the limit.
func limitBody(c *gin.Context) {
	if !httpx.LimitBody(c.Writer, c.Request) {
		c.Abort()
		return
	}
	c.Next()
}

// securityHeaders sets headers every response should carry.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	c.Next()
}

// recoverJSON turns a panic into a logged 500 with a JSON body, so one bad
// request never takes the process down.
func recoverJSON(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				log.ErrorContext(c.Request.Context(), "handler panic", "err", fmt.Sprint(r), "path", c.Request.URL.Path)
				if !c.Writer.Written() {
					abort(c, http.StatusInternalServerError, httpx.CodeServerError, "internal error")
				} else {
					c.Abort()
				}
			}
		}()
		c.Next()
	}
}

// observe counts requests by route and status, and logs server errors.
func observe(m *Metrics, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
		// /readyz answering 503 is its job, not a failure of the request.
		if status >= 500 && !(status == http.StatusServiceUnavailable && route == "/readyz") {
			log.ErrorContext(c.Request.Context(), "request failed", "route", route, "status", status,
				"duration", time.Since(start), "client_ip", c.ClientIP())
		}
	}
}
