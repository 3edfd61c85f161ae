package redis

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"gatehouse/realtime"
	"gatehouse/realtime/backplanetest"
)

// redisCluster is a Redis Cluster of redis-server processes on loopback,
// created with redis-cli as an operator would.
type redisCluster struct {
	servers []*redisServer
}

var (
	sharedClusterOnce sync.Once
	sharedCluster     *redisCluster
	sharedClusterErr  error
)

// sharedRedisCluster returns the 3-primary cluster most cluster tests
// share (each test takes its own key prefix); TestMain stops it.
func sharedRedisCluster(t *testing.T) *redisCluster {
	t.Helper()
	sharedClusterOnce.Do(func() {
		sharedCluster, sharedClusterErr = startCluster(3, 0, "")
	})
	if sharedClusterErr != nil {
		t.Fatalf("start redis cluster: %v", sharedClusterErr)
	}
	return sharedCluster
}

// ownCluster starts a cluster for t alone (tests that kill its nodes).
func ownCluster(t *testing.T, primaries, replicas int) *redisCluster {
	t.Helper()
	c, err := startCluster(primaries, replicas, t.TempDir())
	if err != nil {
		t.Fatalf("start redis cluster: %v", err)
	}
	t.Cleanup(c.stop)
	return c
}

// startCluster starts primaries*(1+replicas) servers with cluster mode on,
// joins them with `redis-cli --cluster create` and returns once every
// node reports the cluster ok and every replica is in sync.
func startCluster(primaries, replicas int, dir string) (*redisCluster, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "gatehouse-redis-cluster-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	c := &redisCluster{}
	var addrs []string
	for i := 0; i < primaries*(1+replicas); i++ {
		d := fmt.Sprintf("%s/n%d", dir, i)
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		// The cluster bus defaults to port + 10000, which may be taken:
		// give it a free port of its own.
		bus, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &redisServer{dir: d, args: []string{"--cluster-enabled", "yes",
			"--cluster-config-file", d + "/nodes.conf", "--cluster-node-timeout", "1000",
			"--cluster-port", fmt.Sprint(bus)}}
		if err := s.start(); err != nil {
			c.stop()
			return nil, err
		}
		c.servers = append(c.servers, s)
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", s.port))
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", fmt.Sprint(replicas), "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		c.stop()
		return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.waitHealthy(ctx, primaries); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// waitHealthy returns once every live node says cluster_state:ok and
// knows `primaries` primaries, and every live replica's link is up.
func (c *redisCluster) waitHealthy(ctx context.Context, primaries int) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var last string
	for {
		ok := true
		for _, s := range c.servers {
			if s.cmd == nil {
				continue
			}
			cli := goredis.NewClient(&goredis.Options{Addr: s.addr()})
			info, err := cli.ClusterInfo(ctx).Result()
			repl, err2 := cli.Info(ctx, "replication").Result()
			_ = cli.Close()
			switch {
			case err != nil || err2 != nil:
				ok, last = false, fmt.Sprint(err, err2)
			case !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, fmt.Sprintf("cluster_size:%d", primaries)):
				ok, last = false, s.addr()+": "+info
			case strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up"):
				ok, last = false, s.addr()+": "+repl
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not healthy: %s", last)
		case <-t.C:
		}
	}
}

func (s *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

func (c *redisCluster) stop() {
	for _, s := range c.servers {
		s.stop()
	}
}

func (c *redisCluster) addrs() []string {
	var out []string
	for _, s := range c.servers {
		out = append(out, s.addr())
	}
	return out
}

// primaryFor returns the server holding key's slot.
func (c *redisCluster) primaryFor(t *testing.T, key string) *redisServer {
	t.Helper()
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.addrs()})
	defer cc.Close()
	primary, err := cc.MasterForKey(ctxT(t), key)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.servers {
		if s.addr() == primary.Options().Addr {
			return s
		}
	}
	t.Fatalf("no server at %s", primary.Options().Addr)
	return nil
}

// clusterConfig is a config for c with a key prefix of t's own and a fast
// heartbeat.
func clusterConfig(c *redisCluster, node string) Config {
	return Config{Cluster: &Cluster{Addrs: c.addrs()[:1]}, Node: node,
		KeyPrefix: fmt.Sprintf("test%d:", prefixes.Add(1)), Heartbeat: 100 * time.Millisecond}
}

func newClusterTest(t *testing.T, c *redisCluster, node string) *Backplane {
	t.Helper()
	return newTest(t, clusterConfig(c, node))
}

// The conformance suite on a 3-primary Redis Cluster: every script touches
// one slot (a CROSSSLOT refusal would fail it), and the readers of the
// streams follow them to their primaries.
func TestClusterConformance(t *testing.T) {
	c := sharedRedisCluster(t)
	backplanetest.Run(t, func(t *testing.T) realtime.Backplane {
		return newClusterTest(t, c, "n1")
	})
}

// Two hubs on a Cluster, through the cross-node scenarios.
func TestClusterHubsAcrossNodes(t *testing.T) {
	c := sharedRedisCluster(t)
	backplanetest.RunHubs(t, func(t *testing.T) (realtime.Backplane, realtime.Backplane) {
		a := newClusterTest(t, c, "a")
		return a, peer(t, a, "b", nil)
	})
}

// The event streams of a Cluster spread over its primaries, and a node
// reads a shard only while it watches one of its channels.
func TestClusterSpreadsStreams(t *testing.T) {
	c := sharedRedisCluster(t)
	a := newClusterTest(t, c, "a")
	b := peer(t, a, "b", nil)
	held := map[string]bool{}
	for shard := 0; shard < a.cfg.Shards; shard++ {
		held[c.primaryFor(t, a.keys.stream(shard)).addr()] = true
	}
	if len(held) != 3 {
		t.Fatalf("the %d streams live on %d primaries, want 3", a.cfg.Shards, len(held))
	}
	// A channel per shard, each watched by b: every one arrives, each
	// through the reader of its shard.
	keys := map[int]realtime.ChannelKey{}
	for i := 0; len(keys) < a.cfg.Shards; i++ {
		k := realtime.ChannelKey{App: "app", Channel: fmt.Sprintf("ch-%d", i)}
		if _, ok := keys[a.shardOf(k)]; !ok {
			keys[a.shardOf(k)] = k
		}
	}
	for _, k := range keys {
		backplanetest.Watch(t, b, k)
	}
	got := backplanetest.Subscribe(t, b)
	ctx := ctxT(t)
	for _, k := range keys {
		env := realtime.Envelope{Kind: realtime.KindPublish, Origin: "a", Message: realtime.Message{App: k.App, Channel: k.Channel, Data: k.Channel}}
		if err := a.Publish(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for range keys {
		seen[got.Next(t).Message.Channel] = true
	}
	if len(seen) != len(keys) {
		t.Fatalf("got %d channels, want %d", len(seen), len(keys))
	}
	b.st.mu.Lock()
	readers := len(b.st.readers)
	b.st.mu.Unlock()
	if readers != a.cfg.Shards {
		t.Fatalf("%d shard readers, want %d", readers, a.cfg.Shards)
	}
	for _, k := range keys {
		b.Unwatch(k)
	}
	b.st.mu.Lock()
	readers = len(b.st.readers)
	b.st.mu.Unlock()
	if readers != 0 {
		t.Fatalf("%d shard readers left after the last unwatch", readers)
	}
}

// Blips of every reading connection lose nothing on a Cluster either.
func TestClusterBlipsLoseNothing(t *testing.T) {
	c := sharedRedisCluster(t)
	pub := newClusterTest(t, c, "pub")
	sub := peer(t, pub, "sub", nil)
	backplanetest.Watch(t, sub, backplanetest.Chat)
	got := backplanetest.Subscribe(t, sub)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 600
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if err := pub.Publish(ctx, msg("pub", i)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < n; i++ {
		if env := got.Next(t); env.Message.Data != fmt.Sprint(i) {
			t.Fatalf("envelope %d carries %q (lost, repeated or reordered)", i, env.Message.Data)
		}
		if i%100 == 50 {
			if err := sub.Blip(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if sub.Resyncs() != 0 {
		t.Fatalf("resynced %d times within the window", sub.Resyncs())
	}
}

// A key prefix with a brace would move the hash tags: refused.
func TestKeyPrefixWithBraceRefused(t *testing.T) {
	_, err := New(ctxT(t), Config{URL: shared(t), KeyPrefix: "app{1}:"}, nil)
	if err == nil || !strings.Contains(err.Error(), "key prefix") {
		t.Fatalf("New with a braced prefix: %v", err)
	}
}

// A Cluster primary fails over while events flow: manually (CLUSTER
// FAILOVER on its replica, as in maintenance), then by a kill -9 of the
// new primary (its replica is promoted once the others see it fail; the
// killed server then rejoins as the replica). With wait_replicas 1, every
// accepted event reaches the subscribing node once and in order, and it
// does not resync. A publish refused because no replica acknowledged it in
// time may still arrive: refused means not guaranteed, not undone.
func TestClusterPrimaryFailover(t *testing.T) {
	t.Parallel() // its own servers; most of its time is failure detection
	c := ownCluster(t, 3, 1)
	nodes := func(failover func(ctx context.Context, primary *redisServer) error) backplanetest.FailoverNodes {
		return func(t *testing.T) (realtime.Backplane, realtime.Backplane, func(context.Context) error) {
			cfg := clusterConfig(c, "pub")
			cfg.Cluster.Addrs = c.addrs()
			cfg.WaitReplicas = 1
			pub := newTest(t, cfg)
			sub := peer(t, pub, "sub", nil)
			stream := pub.keys.stream(pub.shardOf(backplanetest.Chat))
			return pub, sub, func(ctx context.Context) error {
				return failover(ctx, c.primaryFor(t, stream))
			}
		}
	}
	t.Run("manual", func(t *testing.T) {
		backplanetest.RunFailover(t, nodes(func(ctx context.Context, primary *redisServer) error {
			replica, err := c.replicaOf(ctx, primary)
			if err != nil {
				return err
			}
			cli := goredis.NewClient(&goredis.Options{Addr: replica.addr()})
			defer cli.Close()
			if err := cli.ClusterFailover(ctx).Err(); err != nil {
				return err
			}
			return c.waitPrimary(ctx, replica)
		}))
	})
	t.Run("kill -9", func(t *testing.T) {
		backplanetest.RunFailover(t, nodes(func(ctx context.Context, primary *redisServer) error {
			replica, err := c.replicaOf(ctx, primary)
			if err != nil {
				return err
			}
			primary.stop() // SIGKILL
			if err := c.waitPrimary(ctx, replica); err != nil {
				return err
			}
			// The promoted replica has no replica of its own, so no
			// publish of its slots can be acknowledged by one (they are
			// refused) until the killed server is back, as its
			// supervisor would bring it: it rejoins as the replica.
			if err := primary.start(); err != nil {
				return err
			}
			return c.waitHealthy(ctx, 3)
		}))
	})
}

// replicaOf returns the server replicating primary.
func (c *redisCluster) replicaOf(ctx context.Context, primary *redisServer) (*redisServer, error) {
	cli := goredis.NewClient(&goredis.Options{Addr: primary.addr()})
	defer cli.Close()
	id, err := cli.Do(ctx, "CLUSTER", "MYID").Text()
	if err != nil {
		return nil, err
	}
	for _, s := range c.servers {
		if s == primary || s.cmd == nil {
			continue
		}
		rc := goredis.NewClient(&goredis.Options{Addr: s.addr()})
		info, err := rc.Do(ctx, "CLUSTER", "REPLICAS", id).StringSlice()
		_ = rc.Close()
		if err != nil {
			continue
		}
		for _, line := range info {
			fields := strings.Fields(line)
			if len(fields) > 1 && fields[1] != "" {
				for _, cand := range c.servers {
					if strings.HasPrefix(fields[1], cand.addr()+"@") {
						return cand, nil
					}
				}
			}
		}
	}
	return nil, fmt.Errorf("no replica of %s", primary.addr())
}

// waitPrimary returns once s is a primary and the cluster is healthy.
func (c *redisCluster) waitPrimary(ctx context.Context, s *redisServer) error {
	cli := goredis.NewClient(&goredis.Options{Addr: s.addr()})
	defer cli.Close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		role, err := cli.Do(ctx, "ROLE").Slice()
		if err == nil && len(role) > 0 && role[0] == "master" {
			return c.waitHealthy(ctx, 3)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not promoted: %v", s.addr(), ctx.Err())
		case <-tick.C:
		}
	}
}
