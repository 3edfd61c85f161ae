package config

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxFileBytes bounds the config file.
const maxFileBytes = 1 << 20

// LoadFile reads, expands, decodes and validates a config file over the
// defaults of mode. An empty path gives the validated defaults.
func LoadFile(path string, mode Mode) (*Config, error) {
	if path == "" {
		c := Default(mode)
		if err := c.Validate(mode); err != nil {
			return nil, err
		}
		return &c, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("config: %s is larger than %d bytes", path, maxFileBytes)
	}
	return Parse(data, mode, os.LookupEnv)
}

// Parse decodes data over the defaults of mode, expanding `${NAME}` from
// lookup, and validates the result.
func Parse(data []byte, mode Mode, lookup func(string) (string, bool)) (*Config, error) {
	return ParseWith(data, mode, lookup, nil)
}

// ParseWith is Parse with a hook that adjusts the decoded configuration
// (command-line overrides) before it is validated.
func ParseWith(data []byte, mode Mode, lookup func(string) (string, bool), adjust func(*Config)) (*Config, error) {
	var root yaml.Node
	data, refs := protectRefs(data)
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c := Default(mode)
	if root.Kind != 0 { // an empty file keeps the defaults
		if err := expandNode(&root, refs.restore, lookup); err != nil {
			return nil, err
		}
		c.written = collectWritten(&root)
		// A grant section the operator writes is theirs: its default goes
		// before the file is decoded, so nothing of it survives inside.
		if c.written.has("policy") {
			c.Policy = Policy{}
		}
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		if err := enc.Encode(&root); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(&buf)
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("config: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
	}
	if adjust != nil {
		adjust(&c)
	}
	if err := c.Validate(mode); err != nil {
		return nil, err
	}
	c.inheritHistory()
	return &c, nil
}

// inheritHistory gives realtime.history's rules to every app that writes
// no history of its own; an app that writes one keeps exactly it.
func (cfg *Config) inheritHistory() {
	if len(cfg.Realtime.History) == 0 {
		return
	}
	for i := range cfg.Apps {
		if !cfg.written.has(fmt.Sprintf("apps[%d].history", i)) {
			cfg.Apps[i].History = slices.Clone(cfg.Realtime.History)
		}
	}
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// refTable maps the stand-ins protectRefs put in the text back to the
// references they replaced.
type refTable struct {
	stand *regexp.Regexp
	refs  []string
}

// protectRefs replaces every ${NAME} and ${NAME:-default} in data with a
// stand-in of letters, digits and underscores, before YAML reads it: in a
// flow collection (`hash_keys: [${KEY}]`, `{key_secret: ${SECRET}}`, as
// SPEC writes them) the braces of a reference are YAML's own indicators
// and the file would not parse. The references come back, unexpanded, in
// the scalars that hold them (restore); expansion is still per scalar
// value, so a variable's value never becomes YAML structure.
func protectRefs(data []byte) ([]byte, *refTable) {
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	prefix := "GatehouseRef" + hex.EncodeToString(nonce[:]) + "x"
	t := &refTable{stand: regexp.MustCompile(prefix + `([0-9]+)x`)}
	out := envRef.ReplaceAllFunc(data, func(ref []byte) []byte {
		t.refs = append(t.refs, string(ref))
		return []byte(prefix + strconv.Itoa(len(t.refs)-1) + "x")
	})
	return out, t
}

// restore puts the references back into s.
func (t *refTable) restore(s string) string {
	if len(t.refs) == 0 {
		return s
	}
	return t.stand.ReplaceAllStringFunc(s, func(m string) string {
		i, err := strconv.Atoi(t.stand.FindStringSubmatch(m)[1])
		if err != nil || i >= len(t.refs) {
			return m
		}
		return t.refs[i]
	})
}

// expandNode replaces ${NAME} and ${NAME:-default} in every scalar value
// (after restore has put back the references protectRefs took out). A
// reference to an unset variable without a default is an error naming it.
func expandNode(n *yaml.Node, restore func(string) string, lookup func(string) (string, bool)) error {
	if n.Kind == yaml.ScalarNode {
		n.Value = restore(n.Value)
	}
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		var missing []string
		out := envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v, ok := lookup(m[1]); ok {
				return v
			}
			if m[2] != "" {
				return m[3]
			}
			missing = append(missing, m[1])
			return ""
		})
		if len(missing) > 0 {
			return fmt.Errorf("config: line %d: environment variable %s is not set", n.Line, strings.Join(missing, ", "))
		}
		n.Value = out
		if n.Style == 0 {
			// A plain scalar resolves again from its new value, so
			// `per_ip: ${RATE}` can still be a number.
			n.Tag = ""
		}
	}
	for _, c := range n.Content {
		if err := expandNode(c, restore, lookup); err != nil {
			return err
		}
	}
	return nil
}
