package realtime

import (
	"context"
	"fmt"
)

// Channels returns the occupied channels of app whose names start with
// prefix, across the cluster.
func (h *Hub) Channels(ctx context.Context, app, prefix string) (map[string]int, error) {
	m, err := h.bp.Channels(ctx, app, prefix)
	if err != nil {
		return nil, fmt.Errorf("realtime: channels: %w", err)
	}
	return m, nil
}

// Occupancy returns the number of connections subscribed to channel of app,
// across the cluster.
func (h *Hub) Occupancy(ctx context.Context, app, channel string) (int, error) {
	m, err := h.Channels(ctx, app, channel)
	if err != nil {
		return 0, err
	}
	return m[channel], nil
}

// Members returns the presence members of channel of app, across the
// cluster.
func (h *Hub) Members(ctx context.Context, app, channel string) ([]Member, error) {
	ms, err := h.bp.PresenceMembers(ctx, ChannelKey{app, channel})
	if err != nil {
		return nil, fmt.Errorf("realtime: members: %w", err)
	}
	return ms, nil
}
