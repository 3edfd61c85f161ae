package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"gatehouse/web"
)

// ChatConfig configures the demo chat of `gatehouse dev`.
type ChatConfig struct {
	// AppID and AppKey name the hosted app the chat runs on.
	AppID, AppKey string
	// Channel is the presence channel everyone chats in [presence-lobby].
	Channel string
	// LoginProvider is the provider the page's login link uses [dev].
	LoginProvider string
	// PublicURL is where browsers reach the server; its WebSocket origin is
	// allowed by the page's Content-Security-Policy.
	PublicURL string
}

// Chat serves the demo chat page at / and its assets under
// web.ChatStaticPrefix.
type Chat struct {
	cfg ChatConfig
	csp string
}

// NewChat validates cfg and returns the chat routes.
func NewChat(cfg ChatConfig) (*Chat, error) {
	if cfg.AppID == "" || cfg.AppKey == "" {
		return nil, errors.New("handlers: chat needs an app id and key")
	}
	if cfg.Channel == "" {
		cfg.Channel = "presence-lobby"
	}
	if cfg.LoginProvider == "" {
		cfg.LoginProvider = "dev"
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("handlers: chat needs an absolute http(s) public URL")
	}
	ws := "ws://" + u.Host
	if u.Scheme == "https" {
		ws = "wss://" + u.Host
	}
	// Our own modules and stylesheet, same-origin fetches, and the
	// WebSocket origin ('self' covers it only in CSP 3 browsers).
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self' " + ws +
		"; base-uri 'none'; frame-ancestors 'none'"
	return &Chat{cfg: cfg, csp: csp}, nil
}

// Mount adds the routes.
func (h *Chat) Mount(r gin.IRouter) {
	r.GET("/", h.page)
	r.StaticFS(web.ChatStaticPrefix, staticFiles(web.ChatStatic()))
}

func (h *Chat) page(c *gin.Context) {
	login := "/auth/login?" + url.Values{"provider": {h.cfg.LoginProvider}, "return_to": {"/"}}.Encode()
	c.Header("Content-Security-Policy", h.csp)
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	if err := web.RenderChat(c.Writer, web.Chat{
		AppKey: h.cfg.AppKey, AppID: h.cfg.AppID, Channel: h.cfg.Channel, LoginURL: login,
	}); err != nil {
		_ = c.Error(err)
	}
}
