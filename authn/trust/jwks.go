package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// maxJWKSBytes bounds a JWKS or discovery document.
const maxJWKSBytes = 1 << 20

// errUnknownKID is a kid the key set does not hold (even after a refetch
// where one was allowed).
var errUnknownKID = errors.New("trust: no key with that kid")

// remoteKeys is a JWKS read over HTTP: cached, refreshed when its
// Cache-Control max-age (or the interval) runs out and on an unknown kid
// at most once per minInterval, keeping the last good set through an
// outage. One fetch runs at a time; callers wanting fresh keys wait for it.
type remoteKeys struct {
	jwksURL     string // empty until discovery found it
	discovery   string // the issuer whose OpenID configuration names the JWKS
	client      *http.Client
	now         func() time.Time
	interval    time.Duration
	minInterval time.Duration

	mu          sync.Mutex
	keys        []jose.JSONWebKey
	loaded      bool
	expires     time.Time // when the set should be re-read
	lastAttempt time.Time
	lastErr     error
	fetching    chan struct{} // closed when the running fetch ends
}

func newRemoteKeys(cfg Config, client *http.Client, now func() time.Time) *remoteKeys {
	r := &remoteKeys{
		jwksURL: cfg.JWKSURL, client: client, now: now,
		interval: cfg.RefreshInterval, minInterval: cfg.MinRefreshInterval,
	}
	if cfg.Discovery {
		r.discovery = strings.TrimSuffix(cfg.Issuers[0], "/")
	}
	if r.interval <= 0 {
		r.interval = time.Hour
	}
	if r.minInterval <= 0 {
		r.minInterval = 10 * time.Second
	}
	return r
}

// key returns the verification key for kid and alg. An unknown kid, or a
// set past its expiry, triggers a refetch when the rate limit allows.
func (r *remoteKeys) key(ctx context.Context, kid, alg string) (any, error) {
	r.mu.Lock()
	stale := !r.loaded || !r.now().Before(r.expires)
	k, found := pick(r.keys, kid, alg)
	r.mu.Unlock()
	if found && !stale {
		return k, nil
	}
	if err := r.refresh(ctx, !found); err != nil && !found {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, found := pick(r.keys, kid, alg); found {
		return k, nil
	}
	return nil, errUnknownKID
}

// pick finds the key for kid (or, without kid, the only key fit for alg).
func pick(keys []jose.JSONWebKey, kid, alg string) (any, bool) {
	var match []jose.JSONWebKey
	for _, k := range keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != alg {
			continue
		}
		match = append(match, k)
	}
	if len(match) != 1 {
		return nil, false
	}
	return match[0].Key, true
}

// refresh fetches the set unless the last attempt was within minInterval
// (urgent: an unknown kid) or the set is still fresh (not urgent). Callers
// arriving during a fetch wait for it instead of starting another.
func (r *remoteKeys) refresh(ctx context.Context, urgent bool) error {
	r.mu.Lock()
	if ch := r.fetching; ch != nil {
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.lastErr
	}
	now := r.now()
	if !r.lastAttempt.IsZero() && now.Sub(r.lastAttempt) < r.minInterval {
		err := r.lastErr
		r.mu.Unlock()
		if err == nil && urgent {
			err = errUnknownKID
		}
		return err
	}
	if !urgent && r.loaded && now.Before(r.expires) {
		r.mu.Unlock()
		return nil
	}
	r.lastAttempt = now
	ch := make(chan struct{})
	r.fetching = ch
	r.mu.Unlock()

	keys, maxAge, err := r.fetch(ctx)

	r.mu.Lock()
	defer r.mu.Unlock()
	r.fetching = nil
	close(ch)
	r.lastErr = err
	if err != nil {
		return err // the last good set stays
	}
	r.keys, r.loaded = keys, true
	r.expires = r.now().Add(maxAge)
	return nil
}

// fetch reads the JWKS (finding it through discovery first when needed).
func (r *remoteKeys) fetch(ctx context.Context) ([]jose.JSONWebKey, time.Duration, error) {
	r.mu.Lock()
	jwksURL := r.jwksURL
	r.mu.Unlock()
	if jwksURL == "" {
		u, err := r.discover(ctx)
		if err != nil {
			return nil, 0, err
		}
		r.mu.Lock()
		r.jwksURL, jwksURL = u, u
		r.mu.Unlock()
	}
	body, hdr, err := r.get(ctx, jwksURL)
	if err != nil {
		return nil, 0, err
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, 0, fmt.Errorf("trust: jwks %s: %w", jwksURL, err)
	}
	var keys []jose.JSONWebKey
	for _, k := range set.Keys {
		if (k.Use != "" && k.Use != "sig") || !k.IsPublic() || !k.Valid() || keyKind(k.Key) == "" {
			continue // encryption keys, private or symmetric keys are never used
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, 0, fmt.Errorf("trust: jwks %s holds no public signing key", jwksURL)
	}
	return keys, r.maxAge(hdr), nil
}

// maxAge reads Cache-Control max-age, kept within [minInterval, interval].
func (r *remoteKeys) maxAge(h http.Header) time.Duration {
	age := r.interval
	for _, d := range strings.Split(h.Get("Cache-Control"), ",") {
		d = strings.TrimSpace(d)
		if v, ok := strings.CutPrefix(d, "max-age="); ok {
			if s, err := strconv.Atoi(v); err == nil && s >= 0 {
				age = time.Duration(s) * time.Second
			}
		}
	}
	return min(max(age, r.minInterval), r.interval)
}

// discover reads the issuer's OpenID configuration for its jwks_uri; the
// document must name the same issuer.
func (r *remoteKeys) discover(ctx context.Context) (string, error) {
	body, _, err := r.get(ctx, r.discovery+"/.well-known/openid-configuration")
	if err != nil {
		return "", err
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("trust: discovery of %s: %w", r.discovery, err)
	}
	if strings.TrimSuffix(doc.Issuer, "/") != r.discovery {
		return "", fmt.Errorf("trust: discovery of %s names issuer %q", r.discovery, doc.Issuer)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("trust: discovery of %s names no jwks_uri", r.discovery)
	}
	return doc.JWKSURI, nil
}

func (r *remoteKeys) get(ctx context.Context, u string) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("trust: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := r.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("trust: get %s: %w", u, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("trust: get %s: %s", u, res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("trust: read %s: %w", u, err)
	}
	if len(body) > maxJWKSBytes {
		return nil, nil, fmt.Errorf("trust: %s is larger than %d bytes", u, maxJWKSBytes)
	}
	return body, res.Header, nil
}

// ready reports why the set cannot be used yet: nil once it loaded.
func (r *remoteKeys) ready() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded {
		return nil
	}
	if r.lastErr != nil {
		return r.lastErr
	}
	return errors.New("trust: keys not loaded yet")
}
