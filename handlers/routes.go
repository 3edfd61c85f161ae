package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"gatehouse/internal/httpx"
)

// Routes mounts a route table (a front's, a realtime protocol server's) on
// the router. Pattern wildcards reach the handler as r.PathValue; the
// client address is gin's ClientIP, so X-Forwarded-For counts only from
// trusted proxies.
type Routes []httpx.Route

// Mount adds the routes.
func (t Routes) Mount(r gin.IRouter) {
	for _, rt := range t {
		path, names := ginPath(rt.Pattern)
		serve, upgrade := rt.Handler, rt.Upgrade
		r.Handle(rt.Method, path, func(c *gin.Context) {
			for _, n := range names {
				c.Request.SetPathValue(n, c.Param(n))
			}
			if upgrade {
				// The handler hijacks the connection and writes the 101
				// itself, so gin never writes a status: the one recorded
				// here is what the request metrics count. An upgrade
				// refused with an HTTP error overwrites it.
				c.Status(http.StatusSwitchingProtocols)
			}
			serve(c.Writer, c.Request, c.ClientIP())
		})
	}
}

// ginPath turns a ServeMux pattern ("/apps/{id}/events") into gin's
// ("/apps/:id/events") and lists its wildcards.
func ginPath(pattern string) (string, []string) {
	segs := strings.Split(pattern, "/")
	var names []string
	for i, s := range segs {
		if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' {
			name := s[1 : len(s)-1]
			if rest, ok := strings.CutSuffix(name, "..."); ok {
				names = append(names, rest)
				segs[i] = "*" + rest
				continue
			}
			names = append(names, name)
			segs[i] = ":" + name
		}
	}
	return strings.Join(segs, "/"), names
}
