package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/internal/httpx"
	"gatehouse/issuer"
	"gatehouse/policy"
)

// AnonymousConfig configures POST /token/anonymous.
type AnonymousConfig struct {
	Enabled    bool
	TTL        time.Duration
	Algorithms []string
}

// Anonymous mints anonymous tokens.
type Anonymous struct {
	cfg     AnonymousConfig
	issuer  *issuer.Issuer
	policy  *policy.Engine
	limiter *httpx.RateLimiter
	metrics *Metrics
	log     *slog.Logger
}

// NewAnonymous validates cfg. limiter bounds the anonymous identities one
// client address may get (tokens.anonymous.rate); the fronts that mint
// anonymous identities may share it.
func NewAnonymous(cfg AnonymousConfig, iss *issuer.Issuer, pol *policy.Engine, limiter *httpx.RateLimiter, m *Metrics, log *slog.Logger) (*Anonymous, error) {
	if iss == nil || pol == nil || limiter == nil || m == nil || log == nil {
		return nil, errors.New("handlers: anonymous needs an issuer, a policy, a rate limiter, metrics and a logger")
	}
	for _, alg := range cfg.Algorithms {
		if iss.Keys().ForAlg(alg) == nil {
			return nil, errors.New("handlers: no signing key for anonymous algorithm " + alg)
		}
	}
	return &Anonymous{
		cfg: cfg, issuer: iss, policy: pol, metrics: m, log: log, limiter: limiter,
	}, nil
}

// Mount adds the route.
func (a *Anonymous) Mount(r gin.IRouter) {
	r.POST("/token/anonymous", a.mint)
}

type anonymousRequest struct {
	Alg     string `json:"alg"`
	Profile string `json:"profile"`
}

// tokenResponse is POST /token/anonymous's answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// exchangeResponse is POST /token's answer (RFC 8693): every field always,
// scope empty when the token carries no permissions.
type exchangeResponse struct {
	AccessToken     string `json:"access_token"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	IssuedTokenType string `json:"issued_token_type"`
	Scope           string `json:"scope"`
}

func (a *Anonymous) mint(c *gin.Context) {
	if !a.cfg.Enabled {
		abort(c, http.StatusNotFound, httpx.CodeNotFound, "anonymous tokens are disabled")
		return
	}
	// A visitor that already holds one of our tokens keeps its identity
	// for every profile; only a request without one gets a new identity,
	// and only those count against the per-address limit.
	held, ceiling, end, present, terr := ownBearer(a.issuer, c.Request)
	if terr != nil {
		a.log.InfoContext(c.Request.Context(), "anonymous token refused", "code", terr.code, "err", terr.detail)
		abort(c, terr.status, terr.code, terr.desc)
		return
	}
	if !present && !a.limiter.Admit(c.Writer, c.ClientIP(), "too many anonymous tokens from this address") {
		c.Abort()
		return
	}
	var req anonymousRequest
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		abortBodyError(c, err)
		return
	}
	params := profileParams(c)
	if len(body) > 0 && c.ContentType() == "application/x-www-form-urlencoded" {
		// ably-js (authUrl with authMethod POST) posts its params as a form.
		var ch string
		if req.Alg, req.Profile, ch, err = tokenFormFields(body); err != nil {
			abort(c, http.StatusBadRequest, httpx.CodeInvalidRequest, "malformed form body")
			return
		}
		if ch != "" {
			params = map[string]string{"channel": ch}
		}
	} else if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			abort(c, http.StatusBadRequest, httpx.CodeInvalidRequest, "body must be a JSON object")
			return
		}
	}
	if p := c.Query("profile"); p != "" && req.Profile == "" {
		req.Profile = p
	}
	alg := req.Alg
	if alg == "" {
		alg = a.cfg.Algorithms[0]
	} else if !contains(a.cfg.Algorithms, alg) {
		abort(c, http.StatusBadRequest, httpx.CodeInvalidRequest, "alg must be one of the configured anonymous algorithms")
		return
	}
	if req.Profile != "" && !a.issuer.HasProfile(req.Profile) {
		abort(c, http.StatusBadRequest, httpx.CodeInvalidRequest, "unknown profile")
		return
	}
	mintAlg := alg
	if req.Alg == "" && req.Profile != "" && req.Profile != issuer.DefaultProfile {
		mintAlg = "" // other profiles pick the key their consumer can verify
	}
	mreq := issuer.Request{TTL: a.cfg.TTL, Alg: mintAlg, Params: params}
	if present {
		mreq.Identity, mreq.End = held, end
		mreq.Grants = ceiling.Narrow(a.policy.Grants(held))
		if !held.Anonymous {
			mreq.TTL = 0 // a logged-in identity gets the usual token lifetime
		}
	} else {
		mreq.Identity = policy.Identity{Subject: issuer.NewAnonymousSubject(), Anonymous: true}
		mreq.Grants = a.policy.Grants(mreq.Identity)
	}
	tok, err := a.issuer.Mint(req.Profile, mreq)
	if errors.Is(err, issuer.ErrCredentialEnded) {
		abort(c, http.StatusUnauthorized, httpx.CodeInvalidToken, "the credential has ended")
		return
	}
	if err != nil {
		abortMintError(c, a.log, err)
		return
	}
	kind := "anonymous"
	if present {
		kind = "bearer"
	}
	a.metrics.TokenMinted(kind, tok.Alg)
	answerToken(c, tok, req.Profile)
}

// profileParams collects the profile parameters a request may carry.
func profileParams(c *gin.Context) map[string]string {
	if ch := c.Query("channel"); ch != "" {
		return map[string]string{"channel": ch}
	}
	return nil
}
