package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// maxJWKSBytes bounds a provider's JWKS document.
const maxJWKSBytes = 1 << 20

// DefaultKeyRefetchInterval is the least time between two JWKS fetches
// caused by tokens whose kid is unknown.
const DefaultKeyRefetchInterval = 10 * time.Second

// keySet is a provider's JWKS, fetched on first use and refetched when a
// token names a key it does not hold (key rotation). How soon depends on
// where the token came from:
//
//   - an ID token the provider's token endpoint returned to us on the back
//     channel (TLS, client authentication) is the provider speaking: an
//     unknown kid means it rotated or added a key, so the set is refetched
//     at once. Concurrent logins waiting for the same refetch share one
//     fetch (single flight).
//   - a token a third party presents (RFC 8693 subject_token, back-channel
//     logout_token) may carry an invented kid: those refetch at most once
//     per interval, so a flood of made-up kids cannot make us hammer the
//     provider.
//
// It implements go-oidc's KeySet; the back-channel case is marked on the
// context with fromTokenEndpoint.
type keySet struct {
	url      string
	client   *http.Client
	algs     []jose.SignatureAlgorithm
	interval time.Duration
	now      func() time.Time

	fetchMu sync.Mutex // one fetch at a time
	mu      sync.RWMutex
	keys    []jose.JSONWebKey
	fetched time.Time // last fetch attempt
	gen     int       // fetches finished; a single-flight waiter compares it
}

// tokenEndpointKey marks a context whose token came from the provider's
// token endpoint.
type tokenEndpointKey struct{}

// fromTokenEndpoint marks ctx: the token being verified is the one the
// provider's token endpoint returned on the back channel, so an unknown kid
// refetches the JWKS at once.
func fromTokenEndpoint(ctx context.Context) context.Context {
	return context.WithValue(ctx, tokenEndpointKey{}, true)
}

func isFromTokenEndpoint(ctx context.Context) bool {
	v, _ := ctx.Value(tokenEndpointKey{}).(bool)
	return v
}

func newKeySet(url string, client *http.Client, algs []string, interval time.Duration, now func() time.Time) *keySet {
	ja := make([]jose.SignatureAlgorithm, len(algs))
	for i, a := range algs {
		ja[i] = jose.SignatureAlgorithm(a)
	}
	return &keySet{url: url, client: client, algs: ja, interval: interval, now: now}
}

// VerifySignature implements go-oidc's KeySet: it returns the payload of a
// compact JWS whose signature one of the provider's keys verifies.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, k.algs)
	if err != nil {
		return nil, fmt.Errorf("oidc: malformed jws: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("oidc: exactly one signature required")
	}
	kid := jws.Signatures[0].Header.KeyID
	k.mu.RLock()
	keys, fetched, gen := k.keys, !k.fetched.IsZero(), k.gen
	k.mu.RUnlock()
	if p, ok := verifyWith(jws, keys, kid); ok {
		return p, nil
	}
	if known(keys, kid) && fetched {
		// The key is there and did not verify: a bad signature, not a
		// rotation. Refetching would not help.
		return nil, errors.New("oidc: signature does not verify")
	}
	if isFromTokenEndpoint(ctx) {
		keys, err = k.refetchNow(ctx, gen)
	} else {
		keys, err = k.refetch(ctx)
	}
	if err != nil {
		return nil, err
	}
	if p, ok := verifyWith(jws, keys, kid); ok {
		return p, nil
	}
	return nil, errors.New("oidc: no provider key verifies the signature")
}

func known(keys []jose.JSONWebKey, kid string) bool {
	if kid == "" {
		return len(keys) > 0
	}
	for _, key := range keys {
		if key.KeyID == kid {
			return true
		}
	}
	return false
}

func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid string) ([]byte, bool) {
	for i := range keys {
		if kid != "" && keys[i].KeyID != kid {
			continue
		}
		if p, err := jws.Verify(&keys[i]); err == nil {
			return p, true
		}
	}
	return nil, false
}

// refetch fetches the JWKS unless it was fetched less than interval ago, in
// which case the cached keys are returned.
func (k *keySet) refetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	k.mu.RLock()
	last, keys := k.fetched, k.keys
	k.mu.RUnlock()
	if !last.IsZero() && k.now().Sub(last) < k.interval {
		return keys, nil
	}
	return k.fetchLocked(ctx)
}

// refetchNow fetches the JWKS at once, whatever the interval, unless a fetch
// finished since the caller read the set at generation gen: then every
// waiter uses that one fetch's keys.
func (k *keySet) refetchNow(ctx context.Context, gen int) ([]jose.JSONWebKey, error) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	k.mu.RLock()
	cur, keys := k.gen, k.keys
	k.mu.RUnlock()
	if cur != gen {
		return keys, nil
	}
	return k.fetchLocked(ctx)
}

// fetchLocked fetches and stores the set; fetchMu is held. A failed fetch
// keeps the last good keys and still counts against the interval.
func (k *keySet) fetchLocked(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	k.fetched = k.now()
	k.mu.Unlock()
	fresh, err := k.fetch(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	if err != nil {
		return nil, err
	}
	k.keys = fresh
	return fresh, nil
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("oidc: jwks request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oidc: fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, fmt.Errorf("oidc: read jwks: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("oidc: fetch jwks: status %d", resp.StatusCode)
	}
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("oidc: parse jwks: %w", err)
	}
	var out []jose.JSONWebKey
	for _, r := range raw.Keys {
		var key jose.JSONWebKey
		// Keys this library cannot read (other kty, encryption keys) are
		// skipped rather than failing the whole set.
		if err := key.UnmarshalJSON(r); err != nil || key.Use == "enc" || !key.IsPublic() {
			continue
		}
		out = append(out, key)
	}
	return out, nil
}
