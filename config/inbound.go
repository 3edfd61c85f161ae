package config

import (
	"fmt"
	"regexp"
	"strings"
)

var topicNamePattern = regexp.MustCompile(`^[-a-zA-Z0-9_=@,.;]+(/[-a-zA-Z0-9_=@,.;]+)*$`)

// validateInbound checks apps[].inbound_topic.
func (cfg *Config) validateInbound(c *checker) {
	for i, a := range cfg.Apps {
		in := a.InboundTopic
		if in == nil || in.Topic == "" {
			continue
		}
		key := fmt.Sprintf("apps[%d].inbound_topic.topic", i)
		switch {
		case len(in.Topic) > 200 || !topicNamePattern.MatchString(in.Topic):
			c.add(key, "%q is not a topic name (at most 200 of [-a-zA-Z0-9_=@,.;/])", in.Topic)
		case in.Topic == "main" || strings.HasPrefix(in.Topic, "priv/") || strings.HasPrefix(in.Topic, "#") || strings.HasPrefix(in.Topic, "private-encrypted-"):
			c.add(key, "%q is reserved", in.Topic)
		}
	}
}

// validateHistory checks apps[].history.
func (cfg *Config) validateHistory(c *checker) {
	for i, a := range cfg.Apps {
		for j, h := range a.History {
			key := fmt.Sprintf("apps[%d].history[%d]", i, j)
			if h.Channels == "" || strings.ContainsAny(h.Channels, " \t{}") {
				c.add(key+".channels", "%q is not a channel pattern", h.Channels)
			}
			if h.Limit < 1 || h.Limit > 1000 {
				c.add(key+".limit", "%d is outside [1, 1000]", h.Limit)
			}
			if h.TTL < 0 {
				c.add(key+".ttl", "must not be negative")
			}
		}
	}
}
