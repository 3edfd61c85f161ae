package policy

import (
	"errors"
	"slices"
	"testing"
)

func TestPermissions(t *testing.T) {
	tests := []struct {
		name string
		g    Grants
		want []string
	}{
		{"empty", Grants{}, []string{}},
		{
			"subscribe then publish",
			Grants{Subscribe: []string{"private-chat", "public-*"}, Publish: []string{"private-chat"}},
			[]string{
				"realtime:subscriber:read:topic:private-chat",
				"realtime:subscriber:read:topic:public-*",
				"realtime:publisher:write:topic:private-chat",
			},
		},
		{"slash topics", Grants{Subscribe: []string{"secure/inbound"}, Publish: []string{"priv/*"}}, []string{
			"realtime:subscriber:read:topic:secure/inbound",
			"realtime:publisher:write:topic:priv/*",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.g.Permissions()
			if !slices.Equal(got, tt.want) || got == nil {
				t.Fatalf("Permissions() = %#v, want %#v", got, tt.want)
			}
			back, err := ParsePermissions(got)
			if err != nil || !slices.Equal(back.Subscribe, tt.g.Subscribe) || !slices.Equal(back.Publish, tt.g.Publish) {
				t.Errorf("ParsePermissions(Permissions()) = %#v, %v, want %#v", back, err, tt.g)
			}
		})
	}
}

func TestParsePermissions(t *testing.T) {
	tests := []struct {
		name    string
		perms   []string
		want    Grants
		wantErr bool
	}{
		{"nil", nil, Grants{Subscribe: []string{}, Publish: []string{}}, false},
		{"mixed order, duplicates dropped", []string{
			"realtime:publisher:write:topic:a",
			"realtime:subscriber:read:topic:b*",
			"realtime:publisher:write:topic:a",
			"realtime:subscriber:read:topic:c:d",
		}, Grants{Subscribe: []string{"b*", "c:d"}, Publish: []string{"a"}}, false},
		{"braces are literal here", []string{"realtime:subscriber:read:topic:{sub}"}, Grants{Subscribe: []string{"{sub}"}, Publish: []string{}}, false},
		{"unknown action", []string{"realtime:subscriber:write:topic:a"}, Grants{}, true},
		{"unknown resource", []string{"realtime:subscriber:read:channel:a"}, Grants{}, true},
		{"other scope", []string{"openid"}, Grants{}, true},
		{"upper case", []string{"REALTIME:SUBSCRIBER:READ:TOPIC:a"}, Grants{}, true},
		{"empty string", []string{""}, Grants{}, true},
		{"empty pattern", []string{"realtime:publisher:write:topic:"}, Grants{}, true},
		{"prefix without colon", []string{"realtime:publisher:write:topic"}, Grants{}, true},
		{"space in pattern", []string{"realtime:publisher:write:topic:a b"}, Grants{}, true},
		{"control character", []string{"realtime:publisher:write:topic:a\x7f"}, Grants{}, true},
		{"invalid UTF-8", []string{"realtime:publisher:write:topic:\xc3"}, Grants{}, true},
		{"one bad spoils all", []string{"realtime:publisher:write:topic:a", "bogus"}, Grants{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePermissions(tt.perms)
			if tt.wantErr {
				if err == nil || !errors.Is(err, ErrInvalidPermission) {
					t.Errorf("ParsePermissions(%q) error = %v, want ErrInvalidPermission", tt.perms, err)
				}
				return
			}
			if err != nil || !slices.Equal(got.Subscribe, tt.want.Subscribe) || !slices.Equal(got.Publish, tt.want.Publish) || got.Subscribe == nil || got.Publish == nil {
				t.Errorf("ParsePermissions(%q) = %#v, %v, want %#v", tt.perms, got, err, tt.want)
			}
		})
	}
}

func TestParseScope(t *testing.T) {
	tests := []struct {
		name    string
		scope   string
		want    Grants
		wantErr bool
	}{
		{"empty", "", Grants{Subscribe: []string{}, Publish: []string{}}, false},
		{"spaces only", "   ", Grants{Subscribe: []string{}, Publish: []string{}}, false},
		{"two permissions, extra spaces", "  realtime:subscriber:read:topic:private-chat   realtime:publisher:write:topic:private-chat ",
			Grants{Subscribe: []string{"private-chat"}, Publish: []string{"private-chat"}}, false},
		{"tab separated", "realtime:subscriber:read:topic:a\trealtime:subscriber:read:topic:b",
			Grants{Subscribe: []string{"a", "b"}, Publish: []string{}}, false},
		{"non-ASCII space is not a separator", "realtime:subscriber:read:topic:a\u00a0b", Grants{Subscribe: []string{"a\u00a0b"}, Publish: []string{}}, false},
		{"openid mixed in", "openid realtime:subscriber:read:topic:a", Grants{}, true},
		{"comma separated", "realtime:subscriber:read:topic:a,realtime:subscriber:read:topic:b",
			Grants{Subscribe: []string{"a,realtime:subscriber:read:topic:b"}, Publish: []string{}}, false},
		{"bare pattern", "private-chat", Grants{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseScope(tt.scope)
			if tt.wantErr {
				if err == nil || !errors.Is(err, ErrInvalidPermission) {
					t.Errorf("ParseScope(%q) error = %v, want ErrInvalidPermission", tt.scope, err)
				}
				return
			}
			if err != nil || !slices.Equal(got.Subscribe, tt.want.Subscribe) || !slices.Equal(got.Publish, tt.want.Publish) {
				t.Errorf("ParseScope(%q) = %#v, %v, want %#v", tt.scope, got, err, tt.want)
			}
		})
	}
}
