package config

import (
	"net/url"
	"reflect"

	"gopkg.in/yaml.v3"
)

// Redacted is what secrets are replaced with by Redact.
const Redacted = "<redacted>"

// Redact returns a copy of the configuration with every secret replaced, for
// printing (`config check`).
func (cfg *Config) Redact() *Config {
	out, _ := yaml.Marshal(cfg)
	var c Config
	_ = yaml.Unmarshal(out, &c) // deep copy
	redactValue(reflect.ValueOf(&c).Elem())
	return &c
}

func redactValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			redactValue(v.Elem())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			redactValue(v.Index(i))
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := v.Field(i)
			switch t.Field(i).Tag.Get("redact") {
			case "true":
				redactField(f)
			case "url":
				if u, err := url.Parse(f.String()); err == nil && u.User != nil {
					if _, has := u.User.Password(); has {
						u.User = url.UserPassword(u.User.Username(), "redacted")
						f.SetString(u.String())
					}
				}
			default:
				redactValue(f)
			}
		}
	}
}

func redactField(f reflect.Value) {
	switch f.Kind() {
	case reflect.String:
		if f.String() != "" {
			f.SetString(Redacted)
		}
	case reflect.Slice:
		for i := 0; i < f.Len(); i++ {
			redactField(f.Index(i))
		}
	}
}
