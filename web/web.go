package web

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// Page names.
const (
	LoginPage     = "login.html"
	AccountPage   = "account.html"
	LoggedOutPage = "loggedout.html"
	ErrorPage     = "error.html"
)

// StaticPrefix is the URL path the assets are served under.
const StaticPrefix = "/auth/static"

// ProviderLink is one login button.
type ProviderLink struct {
	// Name is the provider's configured name.
	Name string
	// URL starts the login.
	URL string
	// Ready is false while its discovery has not succeeded.
	Ready bool
}

// Login is the data of LoginPage.
type Login struct {
	Providers []ProviderLink
}

// Account is the data of AccountPage.
type Account struct {
	Subject, Name, Email, Provider, SessionID, ExpiresAt string
	Roles, Groups                                        []string
}

// Message is the data of LoggedOutPage and ErrorPage.
type Message struct {
	Title   string
	Message string
}

// Render writes page with data.
func Render(w io.Writer, page string, data any) error {
	if err := pages.ExecuteTemplate(w, page, data); err != nil {
		return fmt.Errorf("web: %s: %w", page, err)
	}
	return nil
}

// Static returns the assets (style.css, account.js).
func Static() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}
