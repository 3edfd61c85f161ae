package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// written records which keys the operator's file sets, by their path as
// errors name them ("tokens.anonymous.algorithms[1]"), with the line each
// stands on. It decides two things: which defaults may fill in (only what
// is absent) and where an error points.
//
// The rule, one for the whole file: a scalar the operator leaves out keeps
// its default; a list the operator writes replaces its default; a section
// that holds grants (policy) is the operator's as a whole once written,
// since a default rule surviving next to theirs would grant what they never
// wrote; and a default derived from something (the anonymous algorithms
// from the signing keys) is derived only when the operator did not write it.
type written map[string]int

// collectWritten walks a decoded document and records every mapping key and
// sequence item with its line.
func collectWritten(n *yaml.Node) written {
	w := written{}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	w.walk("", n)
	return w
}

func (w written) walk(path string, n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			w[p] = k.Line
			w.walk(p, v)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			w[p] = item.Line
			w.walk(p, item)
		}
	}
}

// has reports whether the operator wrote key.
func (w written) has(key string) bool {
	_, ok := w[key]
	return ok
}

// at returns " (line N)" when the operator wrote key, else "".
func (w written) at(key string) string {
	if l, ok := w[key]; ok && l > 0 {
		return fmt.Sprintf(" (line %d)", l)
	}
	return ""
}
