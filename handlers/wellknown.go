package handlers

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"gatehouse/issuer"
)

// TokenExchangeGrant is the RFC 8693 grant type.
const TokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange"

// WellKnown serves the JWKS and the discovery document. Both are encoded once
// at construction: they only change with the configuration.
type WellKnown struct {
	jwks, discovery []byte
}

// NewWellKnown encodes the documents for iss, published at publicURL.
func NewWellKnown(iss *issuer.Issuer, publicURL string) (*WellKnown, error) {
	jwks, err := json.Marshal(iss.Keys().JWKS())
	if err != nil {
		return nil, err
	}
	algs := []string{}
	for _, k := range iss.Keys().Keys() {
		if _, public := k.JWK(); public && !contains(algs, k.Alg) {
			algs = append(algs, k.Alg)
		}
	}
	disc, err := json.Marshal(struct {
		Issuer      string   `json:"issuer"`
		JWKSURI     string   `json:"jwks_uri"`
		TokenEP     string   `json:"token_endpoint"`
		Grants      []string `json:"grant_types_supported"`
		Algs        []string `json:"id_token_signing_alg_values_supported"`
		TokenAlgs   []string `json:"token_endpoint_auth_methods_supported"`
		SubjectType []string `json:"subject_types_supported"`
	}{
		Issuer:      iss.Issuer(),
		JWKSURI:     publicURL + "/.well-known/jwks.json",
		TokenEP:     publicURL + "/token",
		Grants:      []string{TokenExchangeGrant},
		Algs:        algs,
		TokenAlgs:   []string{"none"},
		SubjectType: []string{"public"},
	})
	if err != nil {
		return nil, err
	}
	return &WellKnown{jwks: jwks, discovery: disc}, nil
}

// Mount adds the routes.
func (w *WellKnown) Mount(r gin.IRouter) {
	r.GET("/.well-known/jwks.json", func(c *gin.Context) { serveCached(c, "application/json", w.jwks) })
	r.GET("/.well-known/openid-configuration", func(c *gin.Context) { serveCached(c, "application/json", w.discovery) })
}

func serveCached(c *gin.Context, contentType string, body []byte) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Header("Access-Control-Allow-Origin", "*")
	c.Data(http.StatusOK, contentType, body)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
