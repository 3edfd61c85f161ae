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

// validateHistory checks realtime.history and apps[].history.
func (cfg *Config) validateHistory(c *checker) {
	checkHistory(c, "realtime.history", cfg.Realtime.History)
	for i, a := range cfg.Apps {
		checkHistory(c, fmt.Sprintf("apps[%d].history", i), a.History)
	}
}

func checkHistory(c *checker, prefix string, rules []HistoryRule) {
	for j, h := range rules {
		key := fmt.Sprintf("%s[%d]", prefix, j)
		if len(h.Channels) == 0 {
			c.add(key+".channels", "at least one channel pattern is required")
		}
		for k, ch := range h.Channels {
			if ch == "" || strings.ContainsAny(ch, " \t{}") {
				c.add(fmt.Sprintf("%s.channels[%d]", key, k), "%q is not a channel pattern", ch)
			}
		}
		switch {
		case h.Last != 0 && h.Limit != 0 && h.Last != h.Limit:
			c.add(key+".last", "and limit say different counts (%d, %d): give one", h.Last, h.Limit)
		case h.Last == 0 && h.Limit == 0:
			c.add(key+".last", "is required (how many events to keep, 1 to 1000)")
		case h.Kept() < 1 || h.Kept() > 1000:
			name := ".last"
			if h.Last == 0 {
				name = ".limit"
			}
			c.add(key+name, "%d is outside [1, 1000]", h.Kept())
		}
		if h.TTL < 0 {
			c.add(key+".ttl", "must not be negative")
		}
	}
}
