// Package config loads, checks and describes leadsync's YAML config file.
//
// Load (or Parse, for bytes) decodes the file strictly: every key is matched
// against the schema in types.go by its yaml tag, so an unknown or misplaced
// key is an error with its line, and keys that exist but do not apply to a
// source's provider or a sink's type are rejected too. Secrets are resolved
// from the environment, files or systemd credentials while loading, then
// defaults are filled in and the result validated. Every problem found is
// reported at once as an *Errors, one `FILE:LINE: path.to.key: message` per
// line, so that `leadsync check` can print them all.
//
// A *Config returned without error is complete: defaults applied, secrets
// readable through Secret.Reveal, Sink.Effective filled in. The engine may
// use it as is and must treat it as read-only, since a reload builds a new
// one rather than changing the old.
//
// Relative paths (state_dir, file sinks, file secrets) are relative to the
// working directory of the process, like any command-line path.
package config
