//go:build unix

package file

import (
	"fmt"
	"os"
	"syscall"
)

// sameOwner gives out the mode, owner and group of the file orig describes,
// so that an erase run as root (offline, with sudo) leaves the daemon's user
// a file it can still append to; as root, a failed chown fails the erase.
// Run as anyone else (the daemon) it can only hand the file to a group of
// its own, and a file that stays its own is one it can still append to: a
// refused chown is not an error then.
func sameOwner(out *os.File, orig os.FileInfo) error {
	if err := out.Chmod(orig.Mode().Perm()); err != nil {
		return err
	}
	want, ok := orig.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	fi, err := out.Stat()
	if err != nil {
		return err
	}
	if got, ok := fi.Sys().(*syscall.Stat_t); ok && got.Uid == want.Uid && got.Gid == want.Gid {
		return nil
	}
	if err := out.Chown(int(want.Uid), int(want.Gid)); err != nil && os.Geteuid() == 0 {
		return fmt.Errorf("give the new file the old one's owner (uid %d, gid %d): %w", want.Uid, want.Gid, err)
	}
	return nil
}
