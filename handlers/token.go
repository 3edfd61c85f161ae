package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/authn"
	"gatehouse/internal/httpx"
	"gatehouse/issuer"
	"gatehouse/oidc"
	"gatehouse/policy"
)

// RFC 8693 token type identifiers.
const (
	// TokenTypeJWT is the type of our own tokens, as subject and as result.
	TokenTypeJWT = "urn:ietf:params:oauth:token-type:jwt"
)

// SubjectVerifier verifies an identity provider's token offered for token
// exchange (the oidc relying party implements it).
type SubjectVerifier interface {
	VerifySubjectToken(ctx context.Context, tokenType, token, provider string) (policy.Identity, time.Time, error)
}

// sessionSlider re-issues a session cookie that is being used (sliding idle
// timeout); the oidc session store implements it.
type sessionSlider interface {
	Slide(r *http.Request) *http.Cookie
}

// TokenConfig configures POST /token.
type TokenConfig struct {
	// Origin is our public origin, required of cookie-authenticated POSTs.
	Origin string
}

// Token serves POST /token: a realtime token for the session cookie, or for
// a subject token per RFC 8693.
type Token struct {
	cfg      TokenConfig
	sessions authn.SessionReader // may be nil: no login configured
	subjects SubjectVerifier     // may be nil: no provider configured
	external *authn.Resolver     // may be nil: no trusted issuer on exchange
	issuer   *issuer.Issuer
	policy   *policy.Engine
	metrics  *Metrics
	log      *slog.Logger
}

// NewToken validates its dependencies; sessions and subjects may be nil.
func NewToken(cfg TokenConfig, sessions authn.SessionReader, subjects SubjectVerifier, iss *issuer.Issuer,
	pol *policy.Engine, m *Metrics, log *slog.Logger) (*Token, error) {
	if iss == nil || pol == nil || m == nil || log == nil {
		return nil, errors.New("handlers: token needs an issuer, a policy, metrics and a logger")
	}
	if cfg.Origin == "" {
		return nil, errors.New("handlers: token needs the public origin")
	}
	return &Token{cfg: cfg, sessions: sessions, subjects: subjects, issuer: iss, policy: pol, metrics: m, log: log}, nil
}

// TrustExternal lets exchange accept the tokens of the trusted issuers
// res (a resolver For the exchange front) has enabled.
func (t *Token) TrustExternal(res *authn.Resolver) { t.external = res }

// Mount adds the route.
func (t *Token) Mount(r gin.IRouter) {
	r.POST("/token", t.mint)
}

// tokenError is a refusal: status, code and the generic description the
// client sees; the detail goes to the log.
type tokenError struct {
	status int
	code   string
	desc   string
	detail error
}

func (e *tokenError) Error() string { return e.desc }

func refuse(status int, code, desc string, detail error) *tokenError {
	return &tokenError{status: status, code: code, desc: desc, detail: detail}
}

func (t *Token) mint(c *gin.Context) {
	ctx := c.Request.Context()
	if err := c.Request.ParseForm(); err != nil {
		abortBodyError(c, err)
		return
	}
	form := c.Request.PostForm
	kind := "session"
	var (
		id      policy.Identity
		ceiling *policy.Grants
		// exact are the grants of a trusted issuer's token, already
		// decided by its grant mode (the policy is not applied again).
		exact *policy.Grants
		ends  time.Time
		terr  *tokenError
	)
	if gt := form.Get("grant_type"); gt != "" {
		kind = "exchange"
		if c, ok, err := t.trusted(ctx, gt, form.Get("subject_token"), form.Get("subject_token_type")); ok {
			id, exact, ends, terr = c.Identity, &c.Grants, c.ExpiresAt, err
		} else {
			id, ceiling, ends, terr = t.exchange(ctx, gt, form.Get("subject_token"), form.Get("subject_token_type"), form.Get("provider"))
		}
	} else if bid, bceil, bend, present, berr := ownBearer(t.issuer, c.Request); present {
		kind = "bearer"
		id, ceiling, ends, terr = bid, bceil, bend, berr
	} else {
		id, ends, terr = t.session(c)
	}
	if terr != nil {
		t.log.InfoContext(ctx, "token refused", "kind", kind, "code", terr.code, "err", terr.detail)
		abort(c, terr.status, terr.code, terr.desc)
		return
	}
	profile := form.Get("profile")
	if profile == "" {
		profile = c.Query("profile")
	}
	if profile != "" && !t.issuer.HasProfile(profile) {
		abort(c, http.StatusBadRequest, httpx.CodeInvalidRequest, "unknown profile")
		return
	}
	if aud := form.Get("audience"); aud != "" && profile == "" && aud != t.issuer.Audience() {
		abort(c, http.StatusBadRequest, httpx.CodeInvalidRequest, "unknown audience")
		return
	}
	grants := t.policy.Grants(id)
	if exact != nil {
		grants = *exact
	}
	if ceiling != nil {
		grants = ceiling.Narrow(grants)
	}
	if scope := form.Get("scope"); strings.TrimSpace(scope) != "" {
		want, err := policy.ParseScope(scope)
		if err != nil {
			abort(c, http.StatusBadRequest, httpx.CodeInvalidRequest, "scope must be permission strings")
			return
		}
		grants = grants.Narrow(want)
		if len(grants.Subscribe)+len(grants.Publish) == 0 {
			abort(c, http.StatusForbidden, httpx.CodeAccessDenied, "none of the requested scope is granted")
			return
		}
	}
	// A token bought with a session or another token never outlives it, and
	// carries that end on through every exchange.
	req := issuer.Request{Identity: id, Grants: grants, Params: tokenParams(c), End: ends}
	tok, err := t.issuer.Mint(profile, req)
	if errors.Is(err, issuer.ErrCredentialEnded) {
		t.log.InfoContext(ctx, "token refused", "kind", kind, "err", err)
		abort(c, http.StatusUnauthorized, httpx.CodeInvalidToken, "the credential has ended")
		return
	}
	if err != nil {
		abortMintError(c, t.log.With("kind", kind), err)
		return
	}
	t.metrics.TokenMinted(kind, tok.Alg)
	if wantsBareJWT(c.GetHeader("Accept"), profile) {
		c.Data(http.StatusOK, jwtMediaType, []byte(tok.Value))
		return
	}
	c.JSON(http.StatusOK, exchangeResponse{
		AccessToken: tok.Value, TokenType: "Bearer",
		ExpiresIn:       int64(tok.ExpiresAt.Sub(tok.IssuedAt) / time.Second),
		IssuedTokenType: TokenTypeJWT, Scope: tok.Scope,
	})
}

// session authenticates a cookie POST: same-origin first (CSRF), then the
// session cookie.
func (t *Token) session(c *gin.Context) (policy.Identity, time.Time, *tokenError) {
	if !sameOrigin(c.Request, t.cfg.Origin) {
		return policy.Identity{}, time.Time{}, refuse(http.StatusForbidden, httpx.CodeAccessDenied,
			"cross-origin request refused", errors.New("origin "+c.GetHeader("Origin")))
	}
	if t.sessions == nil {
		return policy.Identity{}, time.Time{}, refuse(http.StatusUnauthorized, httpx.CodeInvalidToken, "no valid session", errors.New("login not configured"))
	}
	id, ends, ok, err := t.sessions.Identity(c.Request)
	if err != nil {
		return policy.Identity{}, time.Time{}, refuse(http.StatusUnauthorized, httpx.CodeInvalidToken, "no valid session", err)
	}
	if !ok {
		return policy.Identity{}, time.Time{}, refuse(http.StatusUnauthorized, httpx.CodeInvalidToken, "no valid session", errors.New("no session cookie"))
	}
	if s, ok := t.sessions.(sessionSlider); ok {
		if ck := s.Slide(c.Request); ck != nil {
			http.SetCookie(c.Writer, ck)
		}
	}
	return id, ends, nil
}

// exchange authenticates an RFC 8693 token exchange. For one of our own
// tokens the result can never carry more than the token did (ceiling) nor
// last beyond its absolute end; for a provider's token, beyond what the
// provider's token proves.
func (t *Token) exchange(ctx context.Context, grantType, subject, subjectType, provider string) (policy.Identity, *policy.Grants, time.Time, *tokenError) {
	if grantType != TokenExchangeGrant {
		return policy.Identity{}, nil, time.Time{}, refuse(http.StatusBadRequest, httpx.CodeInvalidRequest, "unsupported grant_type", nil)
	}
	if subject == "" || subjectType == "" {
		return policy.Identity{}, nil, time.Time{}, refuse(http.StatusBadRequest, httpx.CodeInvalidRequest, "subject_token and subject_token_type are required", nil)
	}
	invalid := func(err error) *tokenError {
		return refuse(http.StatusUnauthorized, httpx.CodeInvalidToken, "invalid subject token", err)
	}
	switch subjectType {
	case TokenTypeJWT:
		claims, err := t.issuer.Verify(subject)
		if err != nil {
			return policy.Identity{}, nil, time.Time{}, invalid(err)
		}
		g := claims.Grants()
		return claims.Identity(), &g, claims.AbsoluteEnd(), nil
	case oidc.TokenTypeIDToken, oidc.TokenTypeAccessToken:
		if t.subjects == nil {
			return policy.Identity{}, nil, time.Time{}, invalid(errors.New("no identity provider configured"))
		}
		id, end, err := t.subjects.VerifySubjectToken(ctx, subjectType, subject, provider)
		if errors.Is(err, oidc.ErrUnavailable) {
			return policy.Identity{}, nil, time.Time{}, refuse(http.StatusServiceUnavailable, httpx.CodeUnavailable, "identity provider unavailable", err)
		}
		if err != nil {
			return policy.Identity{}, nil, time.Time{}, invalid(err)
		}
		return id, nil, end, nil
	}
	return policy.Identity{}, nil, time.Time{}, refuse(http.StatusBadRequest, httpx.CodeInvalidRequest, "unsupported subject_token_type", nil)
}

// trusted verifies an exchange's subject token with the trusted issuers
// enabled on the exchange front (JWT access tokens of the team's IdP, a
// service's tokens). ok is false when none of them would take it.
func (t *Token) trusted(ctx context.Context, grantType, subject, subjectType string) (authn.Caller, bool, *tokenError) {
	if t.external == nil || grantType != TokenExchangeGrant || subject == "" || (subjectType != TokenTypeJWT && subjectType != oidc.TokenTypeAccessToken) {
		return authn.Caller{}, false, nil
	}
	c, ok, err := t.external.External(ctx, subject)
	if !ok {
		return authn.Caller{}, false, nil
	}
	if err != nil {
		return authn.Caller{}, true, refuse(http.StatusUnauthorized, httpx.CodeInvalidToken, "invalid subject token", err)
	}
	return c, true, nil
}

// tokenParams collects profile parameters from the form or the query.
func tokenParams(c *gin.Context) map[string]string {
	ch := c.Request.PostForm.Get("channel")
	if ch == "" {
		ch = c.Query("channel")
	}
	if ch == "" {
		return nil
	}
	return map[string]string{"channel": ch}
}
