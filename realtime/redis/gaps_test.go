package redis

import (
	"context"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/realtime"
	"gatehouse/realtime/backplanetest"
)

// A primary replaced by a replica that had not received the last entries
// the node read (never acknowledged with wait_replicas) numbers the next
// entries from where its copy ended: a number at or below the last one
// read. The node reads on from the new primary's end without telling its
// sockets to resync, and misses nothing the new primary holds.
func TestRenumberedStreamIsNoGap(t *testing.T) {
	pub := newTest(t, testConfig(shared(t), "pub"))
	sub := peer(t, pub, "sub", nil)
	backplanetest.Watch(t, sub, backplanetest.Chat)
	got := backplanetest.Subscribe(t, sub)
	ctx := ctxT(t)
	for i := 0; i < 3; i++ {
		if err := pub.Publish(ctx, msg("pub", i)); err != nil {
			t.Fatal(err)
		}
		got.Next(t)
	}
	// The "new primary": it has the first entry only, and its counter
	// says 1, as a replica one entry behind would after a failover.
	shard := pub.shardOf(backplanetest.Chat)
	stream, seq := pub.keys.stream(shard), pub.keys.streamSeq(shard)
	entries, err := pub.rdb.XRange(ctx, stream, "-", "+").Result()
	if err != nil || len(entries) != 3 {
		t.Fatalf("stream: %v %v", entries, err)
	}
	if err := pub.rdb.Del(ctx, stream).Err(); err != nil {
		t.Fatal(err)
	}
	if err := pub.rdb.XAdd(ctx, &goredis.XAddArgs{Stream: stream, ID: entries[0].ID, Values: entries[0].Values}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := pub.rdb.Set(ctx, seq, 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	// The node's connection drops and comes back, as at a failover.
	if err := sub.Blip(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, msg("pub", 3)); err != nil { // numbered 2 again
		t.Fatal(err)
	}
	env := got.Next(t)
	if env.Kind == realtime.KindResync {
		t.Fatalf("resynced after a renumbering")
	}
	if env.Message.Data != "3" {
		t.Fatalf("got %+v, want event 3", env)
	}
	if sub.Resyncs() != 0 {
		t.Fatalf("resyncs %d", sub.Resyncs())
	}
}
