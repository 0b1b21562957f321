//go:build unix

package state

import (
	"fmt"
	"os"
	"syscall"
)

// keepOwner gives the file at path the owner and group of the file orig
// describes: a rewrite run as root (an offline erase or compact) must not
// leave the daemon's user a database it cannot open. Run as another user
// than the owner, the chown fails and the rewrite with it, before the rename.
func keepOwner(path string, orig os.FileInfo) error {
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
	if err := os.Chown(path, int(want.Uid), int(want.Gid)); err != nil {
		return fmt.Errorf("give the new file the database's owner (uid %d, gid %d): %w; run this as that user (sudo -u <user>) or root",
			want.Uid, want.Gid, err)
	}
	return nil
}
