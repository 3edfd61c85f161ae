// Package web holds Gatehouse's embedded pages and assets: the login page,
// the account page, the logged-out page and the error page (html/template),
// and their stylesheet and script. Pages carry no inline script or style, so
// they run under a Content-Security-Policy without 'unsafe-inline'.
package web
