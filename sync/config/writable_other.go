//go:build !unix

package config

// unwritable has no access(2) to ask here: no warning.
func unwritable(string) string { return "" }
