package policy

import (
	"slices"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"", "", true},
		{"", "a", false},
		{"a", "", false},
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"abc", "ab", false},
		{"*", "", true},
		{"*", "anything-at-all", true},
		{"**", "", true},
		{"***", "x", true},
		{"public-*", "public-", true},
		{"public-*", "public-news", true},
		{"public-*", "private-news", false},
		{"public-*", "public", false},
		{"*-chat", "private-chat", true},
		{"*-chat", "private-chatter", false},
		{"a*b", "ab", true},
		{"a*b", "axxb", true},
		{"a*b", "axxbx", false},
		{"a*b", "abab", true},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"ab*ba", "aba", false},
		{"ab*ba", "abba", true},
		{"*a*b*c*", "xaxbxcx", true},
		{"*a*b*c*", "xcxbxax", false},
		{"*ab*ab*", "abab", true},
		{"*ab*ab*", "aab", false},
		{"*aab", "aaab", true},
		{"a*ab*b", "aabb", true},
		{"a*ab*b", "aab", false},
		// Everything but `*` is literal: no `?`, classes or escapes.
		{"a?c", "abc", false},
		{"a?c", "a?c", true},
		{"[ab]", "a", false},
		{`a\*`, `a\xyz`, true},
		{`a\*`, `a*`, false},
		{"a.c", "abc", false},
		// A star in the name is an ordinary byte.
		{"abc", "a*c", false},
		{"a*c", "a*c", true},
		{"private-*", "*", false},
		{"#cache-*", "#cache-x", true},
		{"é*", "éa", true},
		{strings.Repeat("a*", 50) + "b", strings.Repeat("a", 10000), false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.name, func(t *testing.T) {
			if got := Match(tt.pattern, tt.name); got != tt.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
			}
		})
	}
}

func TestGrantsCan(t *testing.T) {
	g := Grants{
		Subscribe: []string{"public-*", "private-chat"},
		Publish:   []string{"private-chat"},
	}
	tests := []struct {
		channel            string
		subscribe, publish bool
	}{
		{"public-news", true, false},
		{"private-chat", true, true},
		{"private-chatter", false, false},
		{"presence-lobby", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.channel, func(t *testing.T) {
			if got := g.CanSubscribe(tt.channel); got != tt.subscribe {
				t.Errorf("CanSubscribe(%q) = %v, want %v", tt.channel, got, tt.subscribe)
			}
			if got := g.CanPublish(tt.channel); got != tt.publish {
				t.Errorf("CanPublish(%q) = %v, want %v", tt.channel, got, tt.publish)
			}
		})
	}
}

func TestNarrow(t *testing.T) {
	tests := []struct {
		name             string
		granted, request []string
		want             []string
	}{
		{"literal under prefix", []string{"private-*"}, []string{"private-chat"}, []string{"private-chat"}},
		{"star under prefix dropped", []string{"public-*"}, []string{"*"}, []string{}},
		{"narrower prefix kept", []string{"public-*"}, []string{"public-a*"}, []string{"public-a*"}},
		{"same pattern kept", []string{"public-*"}, []string{"public-*"}, []string{"public-*"}},
		{"wider prefix dropped", []string{"public-a*"}, []string{"public-*"}, []string{}},
		{"literal outside dropped", []string{"public-*"}, []string{"private-chat"}, []string{}},
		{"everything under star", []string{"*"}, []string{"*", "a*b", "x"}, []string{"*", "a*b", "x"}},
		{"suffix glob", []string{"*-chat"}, []string{"private-*-chat", "private-*"}, []string{"private-*-chat"}},
		{"infix glob", []string{"*a*"}, []string{"a*", "*a", "b*"}, []string{"a*", "*a"}},
		{"prefix vs suffix", []string{"a*"}, []string{"*a"}, []string{}},
		{"inner star must be absorbed", []string{"a*b"}, []string{"a*b", "a*xb", "a*", "ab"}, []string{"a*b", "a*xb", "ab"}},
		{"literal cannot cover a star", []string{"a-b"}, []string{"a*b"}, []string{}},
		{"double star", []string{"public-*"}, []string{"public-**"}, []string{"public-**"}},
		{"any of several grants", []string{"public-*", "private-chat"}, []string{"private-chat", "public-x"}, []string{"private-chat", "public-x"}},
		{"duplicates dropped", []string{"*"}, []string{"a", "a"}, []string{"a"}},
		{"nothing granted", nil, []string{"a"}, []string{}},
		{"nothing requested", []string{"*"}, nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Grants{Subscribe: tt.granted, Publish: tt.granted}
			got := g.Narrow(Grants{Subscribe: tt.request, Publish: tt.request})
			if !slices.Equal(got.Subscribe, tt.want) || got.Subscribe == nil {
				t.Errorf("Narrow(%q).Subscribe = %#v, want %#v", tt.request, got.Subscribe, tt.want)
			}
			if !slices.Equal(got.Publish, tt.want) || got.Publish == nil {
				t.Errorf("Narrow(%q).Publish = %#v, want %#v", tt.request, got.Publish, tt.want)
			}
		})
	}
}

func TestNarrowKeepsKindsApart(t *testing.T) {
	g := Grants{Subscribe: []string{"*"}, Publish: []string{"private-chat"}}
	got := g.Narrow(Grants{Subscribe: []string{"private-*"}, Publish: []string{"private-*", "private-chat"}})
	want := Grants{Subscribe: []string{"private-*"}, Publish: []string{"private-chat"}}
	if !slices.Equal(got.Subscribe, want.Subscribe) || !slices.Equal(got.Publish, want.Publish) {
		t.Errorf("Narrow = %#v, want %#v", got, want)
	}
}
