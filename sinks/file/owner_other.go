//go:build !unix

package file

import "os"

// sameOwner gives out the mode of the file orig describes.
func sameOwner(out *os.File, orig os.FileInfo) error { return out.Chmod(orig.Mode().Perm()) }
