package config

import (
	"fmt"
	"net"
	"net/url"
	"time"
)

// validateRedis checks realtime.redis: a URL, or a Sentinel section (not
// both), and the event stream settings.
func (cfg *Config) validateRedis(c *checker) {
	r := cfg.Realtime.Redis
	switch {
	case r.Sentinel != nil && r.URL != "":
		c.add("realtime.redis", "give url or sentinel, not both")
	case r.Sentinel != nil:
		s := r.Sentinel
		if s.MasterName == "" {
			c.add("realtime.redis.sentinel.master_name", "is required")
		}
		if len(s.Addrs) == 0 {
			c.add("realtime.redis.sentinel.addrs", "at least one sentinel host:port is required")
		}
		for i, a := range s.Addrs {
			if _, _, err := net.SplitHostPort(a); err != nil {
				c.add(fmt.Sprintf("realtime.redis.sentinel.addrs[%d]", i), "%q is not host:port", a)
			}
		}
		if s.DB < 0 {
			c.add("realtime.redis.sentinel.db", "must not be negative")
		}
	default:
		if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			c.add("realtime.redis.url", "must be a redis:// or rediss:// URL (or give realtime.redis.sentinel)")
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
