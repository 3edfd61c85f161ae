package issuer

import (
	"fmt"
	"time"
	"unicode/utf8"

	"gatehouse/keys"
)

// DefaultCentrifugoAudience is the aud of Centrifugo tokens when the
// configuration names none.
const DefaultCentrifugoAudience = "centrifugo"

// maxCentrifugoChannel bounds the channel of a subscription token, as
// Centrifugo's default channel_max_length does.
const maxCentrifugoChannel = 255

// CentrifugoConfig configures the centrifugo and centrifugo-sub profiles.
type CentrifugoConfig struct {
	// Audience is the aud claim, matched by Centrifugo's token audience
	// option; "" means DefaultCentrifugoAudience.
	Audience string
}

// centrifugoInfo is the connection info Centrifugo hands to other clients
// (presence, join/leave) and to proxies.
type centrifugoInfo struct {
	Name string `json:"name"`
}

// centrifugoConnClaims are the claims of a Centrifugo connection token
// (centrifugal.dev, "Client JWT authentication"). channels is left out: the
// client subscribes itself, with a subscription token where the namespace
// asks for one.
type centrifugoConnClaims struct {
	Subject   string         `json:"sub"`
	ExpiresAt int64          `json:"exp"`
	IssuedAt  int64          `json:"iat"`
	ID        string         `json:"jti"`
	Audience  string         `json:"aud"`
	Issuer    string         `json:"iss"`
	Info      centrifugoInfo `json:"info"`
}

// centrifugoSubClaims are the claims of a Centrifugo subscription token
// (centrifugal.dev, "Channel JWT authorization"): sub must equal the
// connection's user, channel names the one channel it admits.
type centrifugoSubClaims struct {
	Subject   string `json:"sub"`
	Channel   string `json:"channel"`
	ExpiresAt int64  `json:"exp"`
	IssuedAt  int64  `json:"iat"`
	ID        string `json:"jti"`
	Audience  string `json:"aud"`
	Issuer    string `json:"iss"`
}

// centrifugoAlgs are the algorithms of our key types that Centrifugo verifies
// through a JWKS (RSA and ECDSA keys).
var centrifugoAlgs = []string{keys.ES256, keys.ES384, keys.ES512, keys.RS256}

// centrifugoKey picks the signing key: the one of req.Alg when asked for, else
// the active key when Centrifugo can verify it, else the first key it can.
func centrifugoKey(i *Issuer, alg string) (*keys.Key, error) {
	if alg != "" {
		k := i.keys.ForAlg(alg)
		if k == nil || !contains(centrifugoAlgs, alg) {
			return nil, fmt.Errorf("%w %q for centrifugo", ErrUnsupportedAlg, alg)
		}
		return k, nil
	}
	if k := i.keys.Active(); contains(centrifugoAlgs, k.Alg) {
		return k, nil
	}
	for _, a := range centrifugoAlgs {
		if k := i.keys.ForAlg(a); k != nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: no key Centrifugo can verify (need ES256/ES384/ES512/RS256)", ErrUnsupportedAlg)
}

// centrifugoProfiles returns the connection and subscription profiles.
func centrifugoProfiles(cfg CentrifugoConfig) (conn, sub Profile) {
	aud := cfg.Audience
	if aud == "" {
		aud = DefaultCentrifugoAudience
	}
	conn = func(i *Issuer, req Request) (Token, error) {
		k, ttl, err := centrifugoPrepare(i, req)
		if err != nil {
			return Token{}, err
		}
		now := i.cfg.Now().Truncate(time.Second)
		exp := now.Add(ttl)
		id := req.Identity
		c := &centrifugoConnClaims{
			Subject: id.Subject, ExpiresAt: exp.Unix(), IssuedAt: now.Unix(), ID: newJTI(),
			Audience: aud, Issuer: i.cfg.Issuer, Info: centrifugoInfo{Name: id.Name},
		}
		return signProfile(k, c, now, exp)
	}
	sub = func(i *Issuer, req Request) (Token, error) {
		channel, err := param(req, "channel")
		if err != nil {
			return Token{}, err
		}
		if len(channel) > maxCentrifugoChannel || !utf8.ValidString(channel) || hasControlOrSpace(channel) {
			return Token{}, fmt.Errorf("%w: channel is not a valid channel name", ErrProfileParam)
		}
		if !req.Grants.CanSubscribe(channel) {
			return Token{}, fmt.Errorf("%w: %q", ErrChannelNotGranted, channel)
		}
		k, ttl, err := centrifugoPrepare(i, req)
		if err != nil {
			return Token{}, err
		}
		now := i.cfg.Now().Truncate(time.Second)
		exp := now.Add(ttl)
		c := &centrifugoSubClaims{
			Subject: req.Identity.Subject, Channel: channel, ExpiresAt: exp.Unix(), IssuedAt: now.Unix(),
			ID: newJTI(), Audience: aud, Issuer: i.cfg.Issuer,
		}
		return signProfile(k, c, now, exp)
	}
	return conn, sub
}

func centrifugoPrepare(i *Issuer, req Request) (*keys.Key, time.Duration, error) {
	k, err := centrifugoKey(i, req.Alg)
	if err != nil {
		return nil, 0, err
	}
	ttl, err := i.Lifetime(req)
	if err != nil {
		return nil, 0, err
	}
	return k, ttl, nil
}

// signProfile signs claims as a plain JWT (typ "JWT": these tokens are for
// another service and must never pass our own at+jwt verification).
func signProfile(k *keys.Key, claims any, now, exp time.Time) (Token, error) {
	return signProfileKID(k, "", claims, now, exp)
}

func signProfileKID(k *keys.Key, kid string, claims any, now, exp time.Time) (Token, error) {
	v, err := Sign(k, "JWT", kid, claims)
	if err != nil {
		return Token{}, err
	}
	return Token{Value: v, Alg: k.Alg, ExpiresAt: exp, IssuedAt: now, Claims: claims}, nil
}

func hasControlOrSpace(s string) bool {
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
