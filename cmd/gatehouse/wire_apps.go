package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"gatehouse/apps"
	"gatehouse/config"
)

// wireApps decodes the configured apps once (master keys included) into
// the one Set that the Pusher auth front and the realtime servers share.
// `gatehouse dev` without apps adds app `dev` (client events on), kept under
// the data dir and printed in the banner; it is returned as devApp too (the
// demo chat runs on it).
func wireApps(e env, p *parts) (set *apps.Set, devApp *apps.App, err error) {
	list := e.cfg.Apps
	dev := e.mode == modeDev && len(list) == 0
	if dev {
		if e.dataDir == "" {
			return nil, nil, errors.New("dev: the dev app needs a data dir")
		}
		creds, err := loadOrCreateDevApp(filepath.Join(e.dataDir, devAppFile))
		if err != nil {
			return nil, nil, err
		}
		// The demo chat shows its last 50 messages to whoever joins.
		list = []config.App{{ID: devAppID, Key: creds.Key, Secret: creds.Secret, ClientEvents: true,
			History: []config.HistoryRule{{Channels: config.StringList{demoChannel}, Last: 50, TTL: time.Hour}}}}
		p.banner = append(p.banner, fmt.Sprintf("app dev     key=%s secret=%s", creds.Key, creds.Secret))
	}
	if set, err = newApps(list); err != nil {
		return nil, nil, err
	}
	if dev {
		devApp = set.ByID(devAppID)
	}
	return set, devApp, nil
}

// newApps maps config.App onto apps.App and validates them.
func newApps(list []config.App) (*apps.Set, error) {
	out := make([]apps.App, 0, len(list))
	for _, c := range list {
		a := apps.App{
			ID: c.ID, Key: c.Key, Secret: c.Secret, ClientEvents: c.ClientEvents,
			ClientSourceAddress: c.ClientSourceAddress, AdminSourceAddress: c.AdminSourceAddress,
		}
		if c.EncryptionMasterKey != "" {
			k, err := config.DecodeKey(c.EncryptionMasterKey)
			if err != nil {
				return nil, fmt.Errorf("apps %s: encryption_master_key: %w", c.ID, err)
			}
			a.EncryptionMasterKey = k
		}
		for _, w := range c.Webhooks {
			a.Webhooks = append(a.Webhooks, apps.Webhook{URL: w.URL, Events: w.Events})
		}
		for _, h := range c.History {
			a.History = append(a.History, apps.HistoryRule{Channels: h.Channels, Limit: h.Kept(), TTL: h.TTL})
		}
		if in := c.InboundTopic; in != nil && in.Enabled {
			a.InboundTopic = in.Topic
			if a.InboundTopic == "" {
				a.InboundTopic = "secure/inbound"
			}
		}
		out = append(out, a)
	}
	return apps.New(out...)
}
