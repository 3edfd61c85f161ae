package redis

import (
	"context"
	"errors"
)

// resubscribed runs when the node reads its streams again after a lost
// connection. Redis may have restarted empty meanwhile, so every node of
// this process replays its share.
func (b *Backplane) resubscribed(ctx context.Context) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for _, node := range b.localNodes() {
			if err := b.replay(ctx, node); err != nil && ctx.Err() == nil && !errors.Is(err, errSweepRunning) {
				b.fail(ctx, "replay after reconnect; retried at the next heartbeat", err)
			}
		}
	}()
}
