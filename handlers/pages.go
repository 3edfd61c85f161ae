package handlers

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/oidc"
	"gatehouse/web"
)

// Pages serves the login, account and logged-out pages and their assets.
// `/` is left to the demo chat.
type Pages struct {
	rp  *oidc.RP
	log *slog.Logger
}

// NewPages returns the pages of rp.
func NewPages(rp *oidc.RP, log *slog.Logger) *Pages { return &Pages{rp: rp, log: log} }

// Mount adds the routes.
func (p *Pages) Mount(r gin.IRouter) {
	r.GET("/login", p.loginPage)
	r.GET("/account", p.account)
	r.GET(LoggedOutPath, p.loggedOut)
	r.StaticFS(web.StaticPrefix, staticFiles(web.Static()))
}

func (p *Pages) loginPage(c *gin.Context) {
	rt := DefaultReturnTo
	if q := c.Query("return_to"); q != "" {
		if ok, err := p.rp.CheckReturnTo(q); err == nil {
			rt = ok
		}
	}
	var links []web.ProviderLink
	for _, ps := range p.rp.Providers() {
		v := url.Values{"provider": {ps.Name}, "return_to": {rt}}
		links = append(links, web.ProviderLink{Name: ps.Name, URL: "/auth/login?" + v.Encode(), Ready: ps.Ready})
	}
	renderPage(c, http.StatusOK, web.LoginPage, web.Login{Providers: links})
}

func (p *Pages) account(c *gin.Context) {
	s := p.rp.Sessions()
	id, exp, ok, err := s.Identity(c.Request)
	if !ok || err != nil {
		if err != nil {
			http.SetCookie(c.Writer, s.ClearCookie())
		}
		c.Redirect(http.StatusFound, "/login?return_to=%2Faccount")
		return
	}
	if ck := s.Slide(c.Request); ck != nil {
		http.SetCookie(c.Writer, ck)
	}
	renderPage(c, http.StatusOK, web.AccountPage, web.Account{
		Subject: id.Subject, Name: id.Name, Email: id.Email, Provider: id.Provider,
		SessionID: id.SessionID, ExpiresAt: exp.UTC().Format(time.RFC1123),
		Roles: id.Roles, Groups: id.Groups,
	})
}

func (p *Pages) loggedOut(c *gin.Context) {
	renderPage(c, http.StatusOK, web.LoggedOutPage, web.Message{Message: "Your session has ended."})
}
