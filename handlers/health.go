package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ReadyCheck is one part /readyz asks.
type ReadyCheck struct {
	// Name says which part failed ("keys", "oidc:auth0", "backplane").
	Name string
	// Check returns nil when the part is ready.
	Check func(ctx context.Context) error
}

// Health serves /healthz, /readyz and /metrics.
type Health struct {
	Checks  []ReadyCheck
	Metrics *Metrics
	// Log says why a check failed (the answer only names it); nil: not
	// logged.
	Log *slog.Logger
	// MetricsElsewhere leaves /metrics out: it is served on a listener of
	// its own (MetricsHandler).
	MetricsElsewhere bool
}

// Mount adds the routes.
func (h *Health) Mount(r gin.IRouter) {
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", h.ready)
	if !h.MetricsElsewhere {
		r.GET("/metrics", gin.WrapH(MetricsHandler(h.Metrics)))
	}
}

// MetricsHandler serves the Prometheus text of m.
func MetricsHandler(m *Metrics) http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

func (h *Health) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	failing := map[string]string{}
	for _, chk := range h.Checks {
		if err := chk.Check(ctx); err != nil {
			failing[chk.Name] = "not ready"
			if h.Log != nil {
				h.Log.WarnContext(ctx, "not ready", "check", chk.Name, "err", err)
			}
		}
	}
	if len(failing) > 0 {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "failing": failing})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}
