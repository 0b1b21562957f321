//go:build unix

package file

import (
	"fmt"
	"os"
	"syscall"
)

// sameOwner gives out the mode, owner and group of the file orig describes,
// so that an erase run as root (offline, with sudo) leaves the daemon's user
// a file it can still append to.
func sameOwner(out *os.File, orig os.FileInfo) error {
	if err := out.Chmod(orig.Mode().Perm()); err != nil {
		return err
	}
	st, ok := orig.Sys().(*syscall.Stat_t)
	if !ok || (int(st.Uid) == os.Geteuid() && int(st.Gid) == os.Getegid()) {
		return nil
	}
	if err := out.Chown(int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("give the new file the old one's owner (uid %d, gid %d): %w; run this as that user or root", st.Uid, st.Gid, err)
	}
	return nil
}
