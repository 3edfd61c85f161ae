package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"gatehouse/realtime"
)

// checkGaps makes sure each stream is read on from a position that still
// makes sense after a reconnection: a stream that is gone (Redis lost its
// data) is read from its start again, and one whose last id is behind the
// position (a replica that had not caught up became primary) from its end.
// What was missed shows as a jump in the sequence numbers (see read).
func (b *Backplane) checkGaps(ctx context.Context, set []*streamState) error {
	for _, st := range set {
		b.st.mu.Lock()
		last := st.last
		b.st.mu.Unlock()
		info, err := b.rdb.XInfoStream(ctx, st.key).Result()
		lost := false
		switch {
		case err != nil && strings.Contains(err.Error(), "no such key"):
			// Redis lost the stream: whatever the node had not read yet
			// is gone, and numbering starts again.
			b.st.mu.Lock()
			lost = st.n > 0
			st.last, st.n = "0-0", 0
			b.st.mu.Unlock()
		case err != nil:
			return err
		case idLess(info.LastGeneratedID, last):
			b.st.mu.Lock()
			st.last = info.LastGeneratedID
			b.st.mu.Unlock()
		}
		if lost {
			b.resync(ctx, st)
		}
	}
	return nil
}

// resync tells the handlers that the channels watched in st's shard (every
// watched channel, for the control stream) may have missed envelopes.
func (b *Backplane) resync(ctx context.Context, st *streamState) {
	b.resyncs.Add(1)
	b.log.WarnContext(ctx, "redis backplane: events of a stream were trimmed or lost before this node read them; its channels resync", "stream", st.key)
	b.st.mu.Lock()
	var keys []realtime.ChannelKey
	for k := range b.st.watched {
		if st.shard < 0 || b.shardOf(k) == st.shard {
			keys = append(keys, k)
		}
	}
	b.st.mu.Unlock()
	for _, k := range keys {
		b.dispatch(realtime.Envelope{Kind: realtime.KindResync, Origin: b.cfg.Node, Message: realtime.Message{App: k.App, Channel: k.Channel}})
	}
}

// idLess compares two stream ids ("ms-seq").
func idLess(a, b string) bool {
	am, as := splitID(a)
	bm, bs := splitID(b)
	return am < bm || (am == bm && as < bs)
}

func splitID(id string) (uint64, uint64) {
	ms, seq, _ := strings.Cut(id, "-")
	m, _ := strconv.ParseUint(ms, 10, 64)
	s, _ := strconv.ParseUint(seq, 10, 64)
	return m, s
}

// Resyncs returns how many times the node found it had missed envelopes.
func (b *Backplane) Resyncs() uint64 { return b.resyncs.Load() }

// Blip cuts the node's event-reading connections, as a network blip would,
// and returns once the node reads again (the conformance suite's blip).
func (b *Backplane) Blip(ctx context.Context) error {
	for _, r := range b.readers() {
		b.st.mu.Lock()
		id, conn := r.id, r.conn
		b.st.mu.Unlock()
		r.up.mu.Lock()
		ups := r.up.ups
		r.up.mu.Unlock()
		if id == 0 {
			if err := r.up.wait(ctx); err != nil {
				return err
			}
			continue
		}
		if err := conn.ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10)).Err(); err != nil {
			return fmt.Errorf("redis: blip: %w", err)
		}
		if err := r.up.waitUps(ctx, ups+1); err != nil {
			return err
		}
	}
	return nil
}
