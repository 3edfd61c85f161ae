package main

import (
	"context"
	"fmt"

	"gatehouse/apps"
	"gatehouse/config"
)

// wireApps decodes the configured apps once (master keys included) into
// the one Set that the Pusher auth front and the realtime servers share.
func wireApps(_ context.Context, a *app) error {
	set, err := newApps(a.cfg.Apps)
	if err != nil {
		return err
	}
	a.apps = set
	return nil
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
		out = append(out, a)
	}
	return apps.New(out...)
}
