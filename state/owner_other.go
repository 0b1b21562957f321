//go:build !unix

package state

import "os"

// keepOwner gives the file at path the mode of the file orig describes
// (there is no Unix owner to keep).
func keepOwner(path string, orig os.FileInfo) error { return os.Chmod(path, orig.Mode().Perm()) }
