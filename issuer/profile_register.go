package issuer

import (
	"errors"
	"fmt"
)

// Names of the extra token profiles (README, "Answering brokers": token profiles).
const (
	// CentrifugoProfile is a Centrifugo connection token.
	CentrifugoProfile = "centrifugo"
	// CentrifugoSubProfile is a Centrifugo subscription token for one channel.
	CentrifugoSubProfile = "centrifugo-sub"
	// AblyProfile is an Ably JWT signed with an Ably API key.
	AblyProfile = "ably"
)

// Profile errors. The HTTP layer answers ErrProfileParam with 400 and
// ErrChannelNotGranted with 403.
var (
	// ErrProfileParam is wrapped when a profile parameter is missing or malformed.
	ErrProfileParam = errors.New("issuer: bad profile parameter")
	// ErrChannelNotGranted is wrapped when a token is asked for a channel the
	// grants do not cover.
	ErrChannelNotGranted = errors.New("issuer: channel not granted")
)

// ProfilesConfig configures the extra token profiles.
type ProfilesConfig struct {
	// Centrifugo configures the centrifugo and centrifugo-sub profiles; nil
	// registers them with CentrifugoConfig's defaults.
	Centrifugo *CentrifugoConfig
	// Ably configures the ably profile; nil leaves it unregistered (it needs
	// an Ably API key).
	Ably *AblyConfig
}

// RegisterProfiles registers every extra profile cfg enables: the one place
// that knows them all. It fails on an unusable configuration.
func (i *Issuer) RegisterProfiles(cfg ProfilesConfig) error {
	cc := CentrifugoConfig{}
	if cfg.Centrifugo != nil {
		cc = *cfg.Centrifugo
	}
	conn, sub := centrifugoProfiles(cc)
	i.Register(CentrifugoProfile, conn)
	i.Register(CentrifugoSubProfile, sub)
	if cfg.Ably != nil {
		p, err := ablyProfile(*cfg.Ably)
		if err != nil {
			return err
		}
		i.Register(AblyProfile, p)
	}
	return nil
}

// param returns the named profile parameter or an ErrProfileParam.
func param(req Request, name string) (string, error) {
	v := req.Params[name]
	if v == "" {
		return "", fmt.Errorf("%w: %s is required", ErrProfileParam, name)
	}
	return v, nil
}
