package redis

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"gatehouse/fronts/rabbitmq"
	"gatehouse/fronts/rabbitmq/rabbitmqtest"
	"gatehouse/policy"
)

func newRabbitUsers(t *testing.T, cfg Config) *RabbitUsers {
	t.Helper()
	u, err := NewRabbitUsers(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return u
}

// The suite on one Redis server and on a Cluster.
func TestRabbitUsersConform(t *testing.T) {
	for name, cfg := range map[string]func() Config{
		"server":  func() Config { return testConfig(shared(t), "n1") },
		"cluster": func() Config { return clusterConfig(sharedRedisCluster(t), "n1") },
	} {
		t.Run(name, func(t *testing.T) {
			rabbitmqtest.RunUsers(t, func(t *testing.T, now func() time.Time) rabbitmq.Users {
				c := cfg()
				c.Now = now
				return newRabbitUsers(t, c)
			})
		})
	}
}

// What one node's user check verified, another node's resource check
// finds; a narrower verification on the second node narrows it for both;
// records end in Redis with the verification.
func TestRabbitUsersCrossNodes(t *testing.T) {
	url := shared(t)
	cfg := testConfig(url, "a")
	a := newRabbitUsers(t, cfg)
	cfg.Node = "b"
	b := newRabbitUsers(t, cfg)
	ctx := context.Background()
	until := time.Now().Add(time.Minute)
	if err := a.Put(ctx, "ada", policy.Grants{Subscribe: []string{"chat.*"}, Publish: []string{"chat.room"}}, "s1", until); err != nil {
		t.Fatal(err)
	}
	g, ok, err := b.Get(ctx, "ada")
	if err != nil || !ok || !slices.Equal(g.Publish, []string{"chat.room"}) {
		t.Fatalf("node b: %+v, %v, %v", g, ok, err)
	}
	if err := b.Put(ctx, "ada", policy.Grants{Subscribe: []string{"chat.*"}}, "s2", until.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if g, _, _ := a.Get(ctx, "ada"); len(g.Publish) != 0 || !slices.Equal(g.Subscribe, []string{"chat.*"}) {
		t.Fatalf("node a after b narrowed: %+v", g)
	}
	ttl := a.rdb.PTTL(ctx, a.keys.rabbitUser("ada")).Val()
	if ttl <= 0 || ttl > time.Minute {
		t.Fatalf("record TTL %v, want the first verification's end (≤ 1m)", ttl)
	}
}

// Every node learns of a logout and drops the session's users; each name
// goes to one of them, so one node closes the connections.
func TestRabbitUsersConcurrentDrop(t *testing.T) {
	url := shared(t)
	cfg := testConfig(url, "a")
	nodes := []*RabbitUsers{newRabbitUsers(t, cfg)}
	for _, n := range []string{"b", "c", "d"} {
		cfg.Node = n
		nodes = append(nodes, newRabbitUsers(t, cfg))
	}
	ctx := context.Background()
	var want []string
	for i := range 20 {
		name := "user" + string(rune('a'+i))
		want = append(want, name)
		if err := nodes[i%len(nodes)].Put(ctx, name, policy.Grants{}, "s", time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			names, err := n.DropSession(ctx, "s")
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			got = append(got, names...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("dropped %v, want each of %v once", got, want)
	}
}

func TestRabbitUsersClosed(t *testing.T) {
	u := newRabbitUsers(t, testConfig(shared(t), "a"))
	_ = u.Close()
	ctx := context.Background()
	if err := u.Put(ctx, "x", policy.Grants{}, "s", time.Now().Add(time.Minute)); err != ErrClosed {
		t.Fatalf("Put after Close: %v", err)
	}
	if _, _, err := u.Get(ctx, "x"); err != ErrClosed {
		t.Fatalf("Get after Close: %v", err)
	}
}
