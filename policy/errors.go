package policy

import "errors"

// ErrInvalidConfig is the class of every error New returns; test for it with
// errors.Is. Each problem is also a *ConfigError naming the field.
var ErrInvalidConfig = errors.New("policy: invalid config")

// ErrInvalidPermission is the class of errors ParsePermissions and ParseScope
// return for a string that is not a permission they know.
var ErrInvalidPermission = errors.New("policy: invalid permission")

// ConfigError is one problem New found in a Config. Field is the path of the
// offending value relative to the policy section, in the configuration
// file's spelling (for example `rules[2].subscribe[0]`), so a caller can
// prefix it with the section's own key.
type ConfigError struct {
	// Field names the offending value, e.g. `rules[2].when.role[0]`.
	Field string
	// Reason says what is wrong with it, e.g. `unknown template "{foo}"`.
	Reason string
}

// Error returns "policy: <field>: <reason>".
func (e *ConfigError) Error() string {
	return "policy: " + e.Field + ": " + e.Reason
}

// Unwrap returns ErrInvalidConfig, so errors.Is(err, ErrInvalidConfig) holds.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }
