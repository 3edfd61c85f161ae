package config

import (
	"fmt"
	"net"
	"net/url"
	"time"
)

// validateRedis checks realtime.redis: one of a URL, a Sentinel section
// and a Cluster section, and the event stream settings.
func (cfg *Config) validateRedis(c *checker) {
	r := cfg.Realtime.Redis
	given := 0
	for _, set := range []bool{r.URL != "", r.Sentinel != nil, r.Cluster != nil} {
		if set {
			given++
		}
	}
	switch {
	case given > 1:
		c.add("realtime.redis", "give one of url, sentinel and cluster")
	case r.Sentinel != nil:
		s := r.Sentinel
		switch {
		case s.Master != "" && s.MasterName != "" && s.Master != s.MasterName:
			c.add("realtime.redis.sentinel.master", "and master_name name different primaries (%q, %q): give one", s.Master, s.MasterName)
		case s.Primary() == "":
			c.add("realtime.redis.sentinel.master", "is required (the primary's name in the sentinels' configuration)")
		}
		if len(s.Addrs) == 0 {
			c.add("realtime.redis.sentinel.addrs", "at least one sentinel host:port is required")
		}
		checkAddrs(c, "realtime.redis.sentinel.addrs", s.Addrs)
		if s.DB < 0 {
			c.add("realtime.redis.sentinel.db", "must not be negative")
		}
	case r.Cluster != nil:
		if len(r.Cluster.Addrs) == 0 {
			c.add("realtime.redis.cluster.addrs", "at least one cluster node host:port is required")
		}
		checkAddrs(c, "realtime.redis.cluster.addrs", r.Cluster.Addrs)
	default:
		if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			c.add("realtime.redis.url", "must be a redis:// or rediss:// URL (or give realtime.redis.sentinel or realtime.redis.cluster)")
		}
	}
	if r.Shards < 0 || r.Shards > 1024 {
		c.add("realtime.redis.shards", "%d is outside [1, 1024]", r.Shards)
	}
	if r.StreamLength < 0 {
		c.add("realtime.redis.stream_length", "must not be negative")
	}
	if r.WaitReplicas < 0 {
		c.add("realtime.redis.wait_replicas", "must not be negative")
	}
	if r.WaitTimeout < 0 || r.WaitTimeout > time.Minute {
		c.add("realtime.redis.wait_timeout", "%s is outside [0, 1m]", r.WaitTimeout)
	}
}

// checkAddrs refuses every address of list that is not host:port.
func checkAddrs(c *checker, key string, list []string) {
	for i, a := range list {
		if _, _, err := net.SplitHostPort(a); err != nil {
			c.add(fmt.Sprintf("%s[%d]", key, i), "%q is not host:port", a)
		}
	}
}
