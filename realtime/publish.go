package realtime

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"gatehouse/pusherproto"
)

// Publish sends msg to every subscriber of its channel on every node. On a
// cache channel the message also becomes the channel's last event.
func (h *Hub) Publish(ctx context.Context, msg Message) error {
	if pusherproto.IsCacheChannel(msg.Channel) {
		key := ChannelKey{msg.App, msg.Channel}
		if err := h.bp.CacheSet(ctx, key, CachedEvent{Name: msg.Name, Data: msg.Data}, h.cfg.CacheTTL); err != nil {
			h.log.WarnContext(ctx, "realtime: cache set", "channel", msg.Channel, "err", err)
		}
	}
	h.published.Add(1)
	if err := h.bp.Publish(ctx, Envelope{Kind: KindPublish, Origin: h.cfg.Node, Message: msg}); err != nil {
		return fmt.Errorf("realtime: publish: %w", err)
	}
	h.keepHistory(ctx, msg)
	return nil
}

// SendTo delivers msg to the one connection connID of msg.App, on
// whichever node holds it; nothing happens when none does.
func (h *Hub) SendTo(ctx context.Context, connID string, msg Message) error {
	h.published.Add(1)
	if err := h.bp.Publish(ctx, Envelope{Kind: KindDirect, Origin: h.cfg.Node, Message: msg, Conn: connID}); err != nil {
		return fmt.Errorf("realtime: send to a connection: %w", err)
	}
	return nil
}

// handle receives every envelope of the cluster.
// handleBatch handles envelopes that queued together, in order. A run of
// consecutive publishes to one channel without an excepted socket goes to
// each subscriber as one write of all its frames (every subscriber of the
// channel gets all of them, so the bytes are built once per codec).
func (h *Hub) handleBatch(envs []Envelope) {
	for i := 0; i < len(envs); {
		j := i + 1
		e := envs[i].Message
		if envs[i].Kind == KindPublish && e.Except == "" {
			for j < len(envs) && j-i < maxRun && envs[j].Kind == KindPublish && envs[j].Message.Except == "" &&
				envs[j].Message.App == e.App && envs[j].Message.Channel == e.Channel {
				j++
			}
		}
		if j-i == 1 {
			h.handle(envs[i])
		} else {
			run := &Event{Kind: KindPublish, Message: Message{App: e.App, Channel: e.Channel}, parts: make([]*Event, j-i)}
			for k := range run.parts {
				run.parts[k] = &Event{Kind: KindPublish, Message: envs[i+k].Message}
			}
			h.fanout(run, "")
		}
		i = j
	}
}

// maxRun bounds the events one write to a socket carries.
const maxRun = 64

func (h *Hub) handle(env Envelope) {
	switch env.Kind {
	case KindPublish:
		h.fanout(&Event{Kind: KindPublish, Message: env.Message}, env.Message.Except)
	case KindMemberAdded, KindMemberRemoved:
		ev := &Event{Kind: env.Kind, UserInfo: env.UserInfo,
			Message: Message{App: env.Message.App, Channel: env.Message.Channel, UserID: env.UserID}}
		h.fanout(ev, env.Conn)
	case KindBindSession:
		h.bindRemote(env.Message.App, env.Conn, env.Message.Channel, env.SID)
	case KindRevokeSession:
		// Sent by nodes of earlier versions; revocations reach every hub
		// through the revocation list now, so there is nothing to do.
	case KindTerminateUser:
		h.terminateLocal(env.Message.App, env.UserID)
	case KindDirect:
		h.mu.RLock()
		cs := h.conns[env.Conn]
		h.mu.RUnlock()
		if cs != nil && cs.app == env.Message.App {
			cs.c.Deliver(&Event{Kind: KindPublish, Message: env.Message})
			h.delivered.Add(1)
		}
	case KindResync:
		h.resyncLocal(ChannelKey{env.Message.App, env.Message.Channel})
	case KindLifecycle:
		// A dead node's channel changes, found by this node's sweep: the
		// webhooks the dead node can no longer send.
		h.notify(context.Background(), Lifecycle{Kind: LifecycleKind(env.Message.Name),
			App: env.Message.App, Channel: env.Message.Channel, UserID: env.UserID})
	default:
		h.log.Warn("realtime: unknown envelope kind", "kind", env.Kind, "origin", env.Origin)
	}
}

// resyncLocal disconnects the local subscribers of key (ReasonResync):
// events of the channel may have been lost, and a client that reconnects
// and subscribes again starts from a known state.
func (h *Hub) resyncLocal(key ChannelKey) {
	h.mu.RLock()
	conns := make([]Conn, 0, len(h.channels[key]))
	for _, c := range h.channels[key] {
		conns = append(conns, c)
	}
	h.mu.RUnlock()
	h.resyncs.Add(uint64(len(conns)))
	for _, c := range conns {
		c.Disconnect(ReasonResync)
	}
}

// fanout hands ev to every local subscriber of its channel but except. The
// one Event is shared, so each protocol encodes it once.
func (h *Hub) fanout(ev *Event, except string) {
	key := ChannelKey{ev.App, ev.Channel}
	h.mu.RLock()
	defer h.mu.RUnlock()
	subs := h.channels[key]
	weight := uint64(max(1, len(ev.parts))) // deliveries per socket
	workers := min(runtime.GOMAXPROCS(0), len(subs)/fanoutShare)
	if workers <= 1 {
		n := uint64(0)
		for id, c := range subs {
			if id == except {
				continue
			}
			c.Deliver(ev)
			n++
		}
		h.delivered.Add(n * weight)
		return
	}
	// A large fan-out is shared by as many goroutines as the process may
	// run at once: the writes (one system call per socket) are the cost,
	// and they are independent. The goroutines take chunks of sockets in
	// turn, so one that is slowed down takes fewer. The fan-out still ends
	// before the next envelope's starts, so every socket sees one order.
	list := fanoutLists.Get().(*[]Conn)
	conns := (*list)[:0]
	for id, c := range subs {
		if id != except {
			conns = append(conns, c)
		}
	}
	chunks := (len(conns) + fanoutChunk - 1) / fanoutChunk
	chunk := func(i int) {
		for _, c := range conns[i*fanoutChunk : min((i+1)*fanoutChunk, len(conns))] {
			c.Deliver(ev)
		}
	}
	// The first chunk goes first, alone: it encodes the event for the
	// codec most sockets share, once, before the goroutines need it.
	chunk(0)
	var next atomic.Int64
	next.Store(1)
	work := func() {
		for i := int(next.Add(1) - 1); i < chunks; i = int(next.Add(1) - 1) {
			chunk(i)
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Add(1)
		go func() { defer wg.Done(); work() }()
	}
	work()
	wg.Wait()
	h.delivered.Add(uint64(len(conns)) * weight)
	clear(conns)
	*list = conns[:0]
	fanoutLists.Put(list)
}

// fanoutShare is the fewest sockets worth a goroutine of their own in a
// fan-out (a goroutine costs about as much as a few writes); fanoutChunk is
// how many sockets a goroutine takes at a time.
const (
	fanoutShare = 256
	fanoutChunk = 64
)

// fanoutLists recycles the connection lists of parallel fan-outs.
var fanoutLists = sync.Pool{New: func() any { s := make([]Conn, 0, 1024); return &s }}
