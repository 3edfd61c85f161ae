package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/realtime"
)

// history:{app:channel} is a list of events, newest first.
func (k keys) history(key realtime.ChannelKey) string { return k.channel("hist", key) }

// historyAppendScript pushes an event, trims the list to ARGV[2] and keeps
// it as long as ARGV[3] ms (0: no expiry), in one step.
var historyAppendScript = goredis.NewScript(`
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`)

// HistoryAppend implements realtime.Backplane.
func (b *Backplane) HistoryAppend(ctx context.Context, key realtime.ChannelKey, ev realtime.HistoryEvent, limit int, ttl time.Duration) error {
	payload, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("redis: history: %w", err)
	}
	if err := historyAppendScript.Run(ctx, b.rdb, []string{b.keys.history(key)}, payload, limit, ttl.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("redis: history: %w", err)
	}
	return nil
}

// HistoryRange implements realtime.Backplane: the whole kept list (it is
// at most the rule's limit) filtered by before and age.
func (b *Backplane) HistoryRange(ctx context.Context, key realtime.ChannelKey, limit int, before string, ttl time.Duration, now time.Time) ([]realtime.HistoryEvent, error) {
	raw, err := b.rdb.LRange(ctx, b.keys.history(key), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: history: %w", err)
	}
	evs := make([]realtime.HistoryEvent, 0, len(raw))
	for _, r := range raw {
		var ev realtime.HistoryEvent
		if json.Unmarshal([]byte(r), &ev) == nil {
			evs = append(evs, ev)
		}
	}
	return realtime.SelectHistory(evs, limit, before, ttl, now), nil
}
