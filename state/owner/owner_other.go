//go:build !unix

// Package owner keeps a rewritten file its predecessor's mode (there is no
// Unix owner to keep here).
package owner

import "os"

// Keep gives the file at path the mode of the file orig describes.
func Keep(path string, orig os.FileInfo) error { return os.Chmod(path, orig.Mode().Perm()) }
