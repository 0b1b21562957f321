//go:build !unix

package state

import "os"

// keepOwner has nothing to keep where files have no Unix owner.
func keepOwner(string, os.FileInfo) error { return nil }
