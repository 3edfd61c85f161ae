package handlers

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
)

// PusherHost is the hosted Pusher protocol 7 server (realtime/pusher) as
// the routes call it: plain net/http methods taking the path values and the
// client's address.
type PusherHost interface {
	ServeWebSocket(w http.ResponseWriter, r *http.Request, appKey, clientIP string)
	ServeEvents(w http.ResponseWriter, r *http.Request, appID, clientIP string)
	ServeBatchEvents(w http.ResponseWriter, r *http.Request, appID, clientIP string)
	ServeChannels(w http.ResponseWriter, r *http.Request, appID, clientIP string)
	ServeChannel(w http.ResponseWriter, r *http.Request, appID, name, clientIP string)
	ServeChannelUsers(w http.ResponseWriter, r *http.Request, appID, name, clientIP string)
	ServeTerminateUser(w http.ResponseWriter, r *http.Request, appID, userID, clientIP string)
}

// TopicsHost is the hosted JWT-topic protocol server (realtime/topics) as
// the routes call it.
type TopicsHost interface {
	ServeWebSocket(w http.ResponseWriter, r *http.Request, appID, clientIP string)
	ServeAdminPublish(w http.ResponseWriter, r *http.Request, appID, clientIP string)
}

// Realtime mounts the hosted realtime layer: the Pusher WebSocket and HTTP
// API, and the JWT-topic WebSocket and publish API. Either protocol may be
// absent (nil); its routes are then not mounted.
type Realtime struct {
	pusher PusherHost
	topics TopicsHost
}

// NewRealtime returns the routes of the given protocol servers; at least one
// is required.
func NewRealtime(p PusherHost, t TopicsHost) (*Realtime, error) {
	if p == nil && t == nil {
		return nil, errors.New("handlers: realtime needs a pusher or a topics server")
	}
	return &Realtime{pusher: p, topics: t}, nil
}

// Mount adds the routes. The client's address is gin's ClientIP, so
// X-Forwarded-For counts only from trusted proxies.
func (h *Realtime) Mount(r gin.IRouter) {
	if p := h.pusher; p != nil {
		r.GET("/app/:key", upgrade(func(c *gin.Context) {
			p.ServeWebSocket(c.Writer, c.Request, c.Param("key"), c.ClientIP())
		}))
		r.POST("/apps/:id/events", func(c *gin.Context) {
			p.ServeEvents(c.Writer, c.Request, c.Param("id"), c.ClientIP())
		})
		r.POST("/apps/:id/batch_events", func(c *gin.Context) {
			p.ServeBatchEvents(c.Writer, c.Request, c.Param("id"), c.ClientIP())
		})
		r.GET("/apps/:id/channels", func(c *gin.Context) {
			p.ServeChannels(c.Writer, c.Request, c.Param("id"), c.ClientIP())
		})
		r.GET("/apps/:id/channels/:name", func(c *gin.Context) {
			p.ServeChannel(c.Writer, c.Request, c.Param("id"), c.Param("name"), c.ClientIP())
		})
		r.GET("/apps/:id/channels/:name/users", func(c *gin.Context) {
			p.ServeChannelUsers(c.Writer, c.Request, c.Param("id"), c.Param("name"), c.ClientIP())
		})
		r.POST("/apps/:id/users/:uid/terminate_connections", func(c *gin.Context) {
			p.ServeTerminateUser(c.Writer, c.Request, c.Param("id"), c.Param("uid"), c.ClientIP())
		})
	}
	if t := h.topics; t != nil {
		r.GET("/apps/:id", upgrade(func(c *gin.Context) {
			t.ServeWebSocket(c.Writer, c.Request, c.Param("id"), c.ClientIP())
		}))
		r.POST("/api/topics/:id/publish", func(c *gin.Context) {
			t.ServeAdminPublish(c.Writer, c.Request, c.Param("id"), c.ClientIP())
		})
	}
}

// upgrade wraps a WebSocket handler. The protocol server hijacks the
// connection and writes the 101 itself, so gin never writes a status; the
// one recorded beforehand is what the request metrics count. An upgrade
// refused with an HTTP error overwrites it.
func upgrade(serve gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Status(http.StatusSwitchingProtocols)
		serve(c)
	}
}
