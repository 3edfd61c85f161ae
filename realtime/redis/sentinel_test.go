package redis

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/realtime"
	"gatehouse/realtime/backplanetest"
)

// sentinelSet is a primary, its replica and three sentinels on loopback.
type sentinelSet struct {
	primary, replica *redisServer
	sentinels        []*redisServer
}

const sentinelMaster = "gatehouse"

func startSentinelSet(t *testing.T) *sentinelSet {
	t.Helper()
	s := &sentinelSet{primary: ownServer(t)}
	s.replica = &redisServer{dir: t.TempDir(), args: []string{"--replicaof", "127.0.0.1", fmt.Sprint(s.primary.port)}}
	if err := s.replica.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.replica.stop)
	for i := 0; i < 3; i++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		conf := dir + "/sentinel.conf"
		body := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2\nsentinel down-after-milliseconds %[1]s 1000\nsentinel failover-timeout %[1]s 5000\n",
			sentinelMaster, s.primary.port)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		// redis-server <conf> --sentinel; the port and address flags that
		// start() adds apply to the sentinel.
		sn := &redisServer{port: port, dir: dir, args: []string{"--sentinel"}, conf: conf,
			ready: "+monitor master"}
		if err := sn.start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sn.stop)
		s.sentinels = append(s.sentinels, sn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Every sentinel knows the replica and the two other sentinels.
	s.waitFor(ctx, t, func(cli *goredis.SentinelClient) bool {
		replicas, err1 := cli.Replicas(ctx, sentinelMaster).Result()
		others, err2 := cli.Sentinels(ctx, sentinelMaster).Result()
		return err1 == nil && err2 == nil && len(replicas) >= 1 && len(others) >= 2
	})
	return s
}

// waitFor polls every sentinel until ok holds for each.
func (s *sentinelSet) waitFor(ctx context.Context, t *testing.T, ok func(*goredis.SentinelClient) bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		all := true
		for _, sn := range s.sentinels {
			cli := goredis.NewSentinelClient(&goredis.Options{Addr: sn.addr()})
			all = all && ok(cli)
			_ = cli.Close()
		}
		if all {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("sentinels: %v", ctx.Err())
		case <-tick.C:
		}
	}
}

func (s *sentinelSet) addrs() []string {
	var out []string
	for _, sn := range s.sentinels {
		out = append(out, sn.addr())
	}
	return out
}

// The failover case of the conformance suite on Redis Sentinel: SENTINEL
// FAILOVER while events flow, with wait_replicas 1.
func TestSentinelFailover(t *testing.T) {
	t.Parallel() // its own servers; most of its time is failure detection
	set := startSentinelSet(t)
	backplanetest.RunFailover(t, func(t *testing.T) (realtime.Backplane, realtime.Backplane, func(context.Context) error) {
		cfg := Config{Sentinel: &Sentinel{MasterName: sentinelMaster, Addrs: set.addrs()}, Node: "pub",
			KeyPrefix: fmt.Sprintf("test%d:", prefixes.Add(1)), Heartbeat: 100 * time.Millisecond, WaitReplicas: 1}
		pub := newTest(t, cfg)
		sub := peer(t, pub, "sub", nil)
		return pub, sub, func(ctx context.Context) error {
			cli := goredis.NewSentinelClient(&goredis.Options{Addr: set.sentinels[0].addr()})
			defer cli.Close()
			if err := cli.Failover(ctx, sentinelMaster).Err(); err != nil {
				return err
			}
			want := fmt.Sprint(set.replica.port)
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				addr, err := cli.GetMasterAddrByName(ctx, sentinelMaster).Result()
				if err == nil && len(addr) == 2 && addr[1] == want {
					// The old primary must follow the new one before a
					// publish can be acknowledged by a replica again.
					old := goredis.NewClient(&goredis.Options{Addr: set.primary.addr()})
					info, err := old.Info(ctx, "replication").Result()
					_ = old.Close()
					if err == nil && strings.Contains(info, "master_link_status:up") {
						return nil
					}
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("failover to %s: %w", want, ctx.Err())
				case <-tick.C:
				}
			}
		}
	})
}
