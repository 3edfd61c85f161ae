package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// DevIDP mounts the development identity provider (an http.Handler from
// oidc/devidp) under its base path.
type DevIDP struct {
	// Base is the path the provider serves ("/dev-idp").
	Base string
	// Handler serves every path under Base.
	Handler http.Handler
}

// Mount adds the routes.
func (d *DevIDP) Mount(r gin.IRouter) {
	r.Any(d.Base+"/*path", parseForm, gin.WrapH(d.Handler))
}
