package handlers

import (
	"fmt"
	"gatehouse/internal/httpx"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Mounter is a route group.
type Mounter interface {
	Mount(r gin.IRouter)
}

// ServerConfig configures the router.
type ServerConfig struct {
	// TrustedProxies are CIDRs or IPs whose X-Forwarded-For is believed.
	TrustedProxies []string
}

// NewRouter builds the gin engine with Gatehouse's middleware and mounts the
// route groups in order.
func NewRouter(cfg ServerConfig, m *Metrics, log *slog.Logger, groups ...Mounter) (http.Handler, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("handlers: trusted proxies: %w", err)
	}
	if len(cfg.TrustedProxies) == 0 {
		r.ForwardedByClientIP = false
	}
	r.HandleMethodNotAllowed = true
	r.Use(recoverJSON(log), observe(m, log), securityHeaders, noStore, limitBody)
	r.NoRoute(func(c *gin.Context) { abort(c, http.StatusNotFound, httpx.CodeNotFound, "no such endpoint") })
	r.NoMethod(func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, httpx.CodeInvalidRequest, "method not allowed")
	})
	for _, g := range groups {
		g.Mount(r)
	}
	return r, nil
}
