package handlers

import (
	"errors"
	"net/http"
	"time"

	"gatehouse/authn"
	"gatehouse/internal/httpx"
	"gatehouse/issuer"
	"gatehouse/policy"
)

// ownBearer reads an `Authorization: Bearer` header carrying one of our own
// tokens. A token request that presents one keeps that token's subject and
// session (anonymous included) whatever profile it asks for, so that, for
// example, a Centrifugo connection token and the subscription tokens of the
// same visitor name the same user. The result can never carry more than the
// presented token did (ceiling) nor outlive its absolute end.
//
// present is false when the request carries no Authorization header at all;
// a header that is not one valid token of ours is a refusal, never a reason
// to fall back to another credential.
func ownBearer(iss *issuer.Issuer, r *http.Request) (id policy.Identity, ceiling *policy.Grants, end time.Time, present bool, terr *tokenError) {
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		return policy.Identity{}, nil, time.Time{}, false, nil
	}
	tok, ok := authn.BearerToken(h)
	if !ok {
		return policy.Identity{}, nil, time.Time{}, true,
			refuse(http.StatusUnauthorized, httpx.CodeInvalidToken, "malformed Authorization header", errors.New("not one Bearer token"))
	}
	claims, err := iss.Verify(tok)
	if err != nil {
		return policy.Identity{}, nil, time.Time{}, true,
			refuse(http.StatusUnauthorized, httpx.CodeInvalidToken, "invalid bearer token", err)
	}
	g := claims.Grants()
	return claims.Identity(), &g, claims.AbsoluteEnd(), true, nil
}
