package realtime

import "context"

// LifecycleKind names a change of a channel that webhooks report.
type LifecycleKind string

// Lifecycle kinds, named as Pusher's webhook events.
const (
	ChannelOccupied LifecycleKind = "channel_occupied"
	ChannelVacated  LifecycleKind = "channel_vacated"
	MemberAdded     LifecycleKind = "member_added"
	MemberRemoved   LifecycleKind = "member_removed"
)

// Lifecycle is a channel change. Each one is reported once in the cluster,
// by the node where the change happened.
type Lifecycle struct {
	Kind    LifecycleKind
	App     string
	Channel string
	// UserID is the member of MemberAdded and MemberRemoved.
	UserID string
}

// OnLifecycle registers fn for every channel change seen by this node. fn is
// called from the goroutine that made the change and must not block.
func (h *Hub) OnLifecycle(fn func(context.Context, Lifecycle)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.observers = append(h.observers, fn)
}

func (h *Hub) notify(ctx context.Context, ev Lifecycle) {
	h.mu.RLock()
	obs := h.observers
	h.mu.RUnlock()
	for _, fn := range obs {
		fn(ctx, ev)
	}
}
