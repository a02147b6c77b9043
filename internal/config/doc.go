// Package config loads regen's effective configuration: defaults, then a
// YAML file, then REGEN_* environment variables, then command-line flags,
// each overriding the one before. Validate names every bad field.
//
//	cfg, err := config.Load(os.Args[2:], os.Getenv)
package config
