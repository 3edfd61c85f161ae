package authn

import "strings"

// BearerToken returns the token of a single `Authorization: Bearer <token>`
// header (scheme case-insensitive, RFC 6750 §2.1). h is every value of the
// Authorization header; more than one is refused.
func BearerToken(h []string) (string, bool) {
	if len(h) != 1 {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}
