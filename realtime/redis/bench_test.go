package redis

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/realtime"
)

// BenchmarkPublishPath measures, against the same redis-server in one run,
// how many envelopes per second one caller gets through Backplane.Publish
// (the numbered XADD script) against a bare XADD loop and a bare PUBLISH
// loop of the same payload (what the pub/sub backplane used to send).
//
//	go test ./realtime/redis -run '^$' -bench PublishPath -benchtime 20000x -count 3
func BenchmarkPublishPath(b *testing.B) {
	bp := newTest(&testing.T{}, testConfig(shared(&testing.T{}), "bench"))
	defer bp.Close()
	ctx := context.Background()
	env := realtime.Envelope{Kind: realtime.KindPublish, Origin: "bench",
		Message: realtime.Message{App: "app", Channel: "chat", Name: "ev", Data: `{"text":"hello, world","n":12345}`}}
	payload, _ := json.Marshal(env)
	b.Run("backplane", func(b *testing.B) {
		for range b.N {
			if err := bp.Publish(ctx, env); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare-xadd", func(b *testing.B) {
		for range b.N {
			if err := bp.rdb.XAdd(ctx, xaddArgs{bp.keys.prefix + "bare", string(payload)}.args()).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare-publish", func(b *testing.B) {
		for range b.N {
			if err := bp.rdb.Publish(ctx, bp.keys.prefix+"bare-ch", payload).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUnservedChannels publishes on channels of shards a second node
// does not watch while it watches one other channel, and reports how many
// envelopes that node handled per published one (0: it never reads them;
// the pub/sub backplane handled every one on every node).
//
//	go test ./realtime/redis -run '^$' -bench UnservedChannels -benchtime 5000x
func BenchmarkUnservedChannels(b *testing.B) {
	t := &testing.T{}
	a := newTest(t, testConfig(shared(t), "a"))
	defer a.Close()
	cfg := a.cfg
	cfg.Node = "b"
	other := newTest(t, cfg)
	defer other.Close()
	served := realtime.ChannelKey{App: "app", Channel: "served"}
	if err := other.Watch(context.Background(), served); err != nil {
		b.Fatal(err)
	}
	var handled atomic.Int64
	stop, err := other.Subscribe(context.Background(), func(realtime.Envelope) { handled.Add(1) })
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	var unserved []realtime.ChannelKey
	for i := 0; len(unserved) < 8; i++ {
		k := realtime.ChannelKey{App: "app", Channel: "room-" + string(rune('a'+i%26)) + string(rune('a'+i/26))}
		if a.shardOf(k) != a.shardOf(served) {
			unserved = append(unserved, k)
		}
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		k := unserved[i%len(unserved)]
		if err := a.Publish(ctx, realtime.Envelope{Kind: realtime.KindPublish, Origin: "a", Message: realtime.Message{App: k.App, Channel: k.Channel, Data: "x"}}); err != nil {
			b.Fatal(err)
		}
	}
	// A marker on the served channel: once it arrives, everything before
	// it that the node would have read has been read.
	got := make(chan struct{})
	stop2, _ := other.Subscribe(ctx, func(env realtime.Envelope) {
		if env.Message.Channel == served.Channel {
			close(got)
		}
	})
	defer stop2()
	if err := a.Publish(ctx, realtime.Envelope{Kind: realtime.KindPublish, Origin: "a", Message: realtime.Message{App: served.App, Channel: served.Channel}}); err != nil {
		b.Fatal(err)
	}
	<-got
	b.ReportMetric(float64(handled.Load()-1)/float64(b.N), "handled/unserved-event")

}

type xaddArgs struct{ stream, payload string }

func (x xaddArgs) args() *goredis.XAddArgs {
	return &goredis.XAddArgs{Stream: x.stream, MaxLen: DefaultStreamLength, Approx: true, Values: []string{"e", x.payload}}
}
