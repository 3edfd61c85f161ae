// Package config reads Gatehouse's YAML configuration (README, "Configuration reference"): strict about
// unknown keys, `${NAME}` / `${NAME:-default}` expansion from the environment,
// defaults that depend on the mode (dev or serve), and validation errors that
// name the offending key. Only cmd/gatehouse imports it; it maps the result
// onto each package's own Config.
package config
