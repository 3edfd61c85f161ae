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
