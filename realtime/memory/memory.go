package memory

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"gatehouse/realtime"
)

var (
	_ realtime.Backplane       = (*Backplane)(nil)
	_ realtime.BatchSubscriber = (*Backplane)(nil)
)

// ErrClosed is returned by a closed Backplane.
var ErrClosed = errors.New("memory: backplane closed")

// Backplane keeps every envelope and every piece of shared state in memory.
// Publish returns once its envelope reached every subscriber. Deliveries
// happen one batch at a time, so every subscriber sees one order: the
// publisher that finds no delivery running delivers, and goes on with the
// envelopes published meanwhile (as one batch) until none is left.
type Backplane struct {
	now func() time.Time

	qmu      sync.Mutex
	queue    []pending
	draining bool
	dmu      sync.Mutex // held while a batch is delivered

	mu       sync.Mutex
	nextSub  int
	subs     map[int]func([]realtime.Envelope)
	occ      map[realtime.ChannelKey]map[string]int // node -> count
	presence map[realtime.ChannelKey]*presence
	cache    map[realtime.ChannelKey]cached
	closed   bool

	hist history
}

type presence struct {
	order   []string
	members map[string]*member
}

type member struct {
	info  []byte
	conns map[string]struct{} // node + "/" + conn
}

type cached struct {
	ev      realtime.CachedEvent
	expires time.Time
}

// Config configures a Backplane.
type Config struct {
	// Now is the clock for cache expiry [time.Now].
	Now func() time.Time
}

// New returns an empty Backplane.
func New(cfg Config) *Backplane {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Backplane{
		now:      cfg.Now,
		subs:     make(map[int]func([]realtime.Envelope)),
		occ:      make(map[realtime.ChannelKey]map[string]int),
		presence: make(map[realtime.ChannelKey]*presence),
		cache:    make(map[realtime.ChannelKey]cached),
	}
}

// pending is a published envelope and the channel closed once delivered.
type pending struct {
	env  realtime.Envelope
	done chan struct{}
}

// Publish delivers env to every subscriber before it returns.
func (b *Backplane) Publish(ctx context.Context, env realtime.Envelope) error {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return ErrClosed
	}
	done := make(chan struct{})
	b.qmu.Lock()
	b.queue = append(b.queue, pending{env, done})
	if b.draining {
		// Another publisher delivers it, with whatever queued meanwhile.
		b.qmu.Unlock()
		<-done
		return nil
	}
	b.draining = true
	for len(b.queue) > 0 {
		batch := b.queue
		b.queue = nil
		b.qmu.Unlock()
		b.deliver(batch)
		b.qmu.Lock()
	}
	b.draining = false
	b.qmu.Unlock()
	return nil
}

// Queued returns how many published envelopes wait for the delivery in
// progress to end (they go out together as the next batch).
func (b *Backplane) Queued() int {
	b.qmu.Lock()
	defer b.qmu.Unlock()
	return len(b.queue)
}

// deliver hands a batch to every subscriber and releases its publishers.
func (b *Backplane) deliver(batch []pending) {
	envs := make([]realtime.Envelope, len(batch))
	for i, p := range batch {
		envs[i] = p.env
	}
	b.dmu.Lock()
	defer b.dmu.Unlock()
	b.mu.Lock()
	hs := make([]func([]realtime.Envelope), 0, len(b.subs))
	for _, h := range b.subs {
		hs = append(hs, h)
	}
	b.mu.Unlock()
	for _, h := range hs {
		h(envs)
	}
	for _, p := range batch {
		close(p.done)
	}
}

// Watch does nothing: every envelope reaches every subscriber of the one
// process.
func (b *Backplane) Watch(context.Context, realtime.ChannelKey) error { return nil }

// Blip does nothing: an in-process backplane has no connection to cut.
func (b *Backplane) Blip(context.Context) error { return nil }

// Unwatch does nothing (see Watch).
func (b *Backplane) Unwatch(realtime.ChannelKey) {}

// Subscribe registers h for every later envelope.
func (b *Backplane) Subscribe(ctx context.Context, h func(realtime.Envelope)) (func(), error) {
	return b.SubscribeBatch(ctx, func(envs []realtime.Envelope) {
		for _, env := range envs {
			h(env)
		}
	})
}

// SubscribeBatch implements realtime.BatchSubscriber: h gets the envelopes
// that queued while the previous batch was delivered, in order.
func (b *Backplane) SubscribeBatch(ctx context.Context, h func([]realtime.Envelope)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	id := b.nextSub
	b.nextSub++
	b.subs[id] = h
	return func() {
		// Taking dmu waits for a delivery in flight, so h is not called
		// after stop returns. A handler must therefore not call stop.
		b.dmu.Lock()
		defer b.dmu.Unlock()
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, id)
	}, nil
}

// Occupy adds delta to node's subscriptions of key.
func (b *Backplane) Occupy(ctx context.Context, key realtime.ChannelKey, node string, delta int) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	nodes := b.occ[key]
	if nodes == nil {
		nodes = make(map[string]int)
		b.occ[key] = nodes
	}
	nodes[node] += delta
	if nodes[node] <= 0 {
		delete(nodes, node)
	}
	total := 0
	for _, n := range nodes {
		total += n
	}
	if total == 0 {
		delete(b.occ, key)
	}
	return total, nil
}

// Channels lists occupied channels of app starting with prefix.
func (b *Backplane) Channels(ctx context.Context, app, prefix string) (map[string]int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int)
	for key, nodes := range b.occ {
		if key.App != app || !strings.HasPrefix(key.Channel, prefix) {
			continue
		}
		for _, n := range nodes {
			out[key.Channel] += n
		}
	}
	return out, nil
}

// PresenceAdd records a member connection.
func (b *Backplane) PresenceAdd(ctx context.Context, key realtime.ChannelKey, node, conn string, m realtime.Member, max int) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.presence[key]
	if p == nil {
		p = &presence{members: make(map[string]*member)}
		b.presence[key] = p
	}
	mem := p.members[m.UserID]
	added := mem == nil
	if added {
		if max > 0 && len(p.members) >= max {
			if len(p.members) == 0 {
				delete(b.presence, key)
			}
			return false, realtime.ErrPresenceFull
		}
		mem = &member{info: append([]byte(nil), m.UserInfo...), conns: make(map[string]struct{})}
		p.members[m.UserID] = mem
		p.order = append(p.order, m.UserID)
	}
	mem.conns[node+"/"+conn] = struct{}{}
	return added, nil
}

// PresenceRemove forgets a member connection.
func (b *Backplane) PresenceRemove(ctx context.Context, key realtime.ChannelKey, node, conn, userID string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.presence[key]
	if p == nil {
		return false, nil
	}
	mem := p.members[userID]
	if mem == nil {
		return false, nil
	}
	delete(mem.conns, node+"/"+conn)
	if len(mem.conns) > 0 {
		return false, nil
	}
	delete(p.members, userID)
	for i, id := range p.order {
		if id == userID {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
	if len(p.members) == 0 {
		delete(b.presence, key)
	}
	return true, nil
}

// PresenceMembers lists the members of key in join order.
func (b *Backplane) PresenceMembers(ctx context.Context, key realtime.ChannelKey) ([]realtime.Member, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.presence[key]
	if p == nil {
		return nil, nil
	}
	out := make([]realtime.Member, 0, len(p.order))
	for _, id := range p.order {
		out = append(out, realtime.Member{UserID: id, UserInfo: append([]byte(nil), p.members[id].info...)})
	}
	return out, nil
}

// CacheSet keeps ev as the last event of key until ttl passes.
func (b *Backplane) CacheSet(ctx context.Context, key realtime.ChannelKey, ev realtime.CachedEvent, ttl time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if len(b.cache) >= 4096 {
		for k, c := range b.cache {
			if !now.Before(c.expires) {
				delete(b.cache, k)
			}
		}
	}
	b.cache[key] = cached{ev: ev, expires: now.Add(ttl)}
	return nil
}

// CacheGet returns the unexpired last event of key.
func (b *Backplane) CacheGet(ctx context.Context, key realtime.ChannelKey) (realtime.CachedEvent, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.cache[key]
	if !ok || !b.now().Before(c.expires) {
		delete(b.cache, key)
		return realtime.CachedEvent{}, false, nil
	}
	return c.ev, true, nil
}

// Ping answers nil while the backplane is open.
func (b *Backplane) Ping(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	return nil
}

// Close stops every delivery.
func (b *Backplane) Close() error {
	b.dmu.Lock()
	defer b.dmu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.subs = map[int]func([]realtime.Envelope){}
	return nil
}
