//go:build unix

package state

import (
	"fmt"
	"os"
	"syscall"
)

// keepOwner gives the file at path the mode, owner and group of the file
// orig describes. Run as root (an offline erase or compact with sudo), it
// must: a database left root's is one the daemon's user cannot open, so the
// rewrite fails before its rename if the chown does. Run as anyone else (the
// daemon itself, after an erase) it can only hand the file to a group of its
// own, and a file that stays its own is one it can still open: a refused
// chown is not an error then.
func keepOwner(path string, orig os.FileInfo) error {
	if err := os.Chmod(path, orig.Mode().Perm()); err != nil { // bbolt's create is subject to the umask
		return err
	}
	want, ok := orig.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if got, ok := fi.Sys().(*syscall.Stat_t); ok && got.Uid == want.Uid && got.Gid == want.Gid {
		return nil
	}
	if err := os.Chown(path, int(want.Uid), int(want.Gid)); err != nil && os.Geteuid() == 0 {
		return fmt.Errorf("give the new file the database's owner (uid %d, gid %d): %w", want.Uid, want.Gid, err)
	}
	return nil
}
