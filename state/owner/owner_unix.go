//go:build unix

// Package owner keeps a rewritten file its predecessor's mode, owner and
// group: the database (compact, erase) and a file sink's JSONL file (erase)
// are rewritten beside the original and renamed over it.
package owner

import (
	"fmt"
	"os"
	"syscall"
)

// Keep gives the file at path the mode, owner and group of the file orig
// describes. Run as root (an offline erase or compact with sudo), it must:
// a file left root's is one the daemon's user cannot open or append to, so
// a refused chown is an error, and the rewrite fails before its rename. Run
// as anyone else (the daemon itself, after an erase) it can only hand the
// file to a group of its own, and a file that stays its own is one it can
// still use: a refused chown is not an error then.
func Keep(path string, orig os.FileInfo) error {
	if err := os.Chmod(path, orig.Mode().Perm()); err != nil { // a create is subject to the umask
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
		return fmt.Errorf("give the new file the owner of the one it replaces (uid %d, gid %d): %w", want.Uid, want.Gid, err)
	}
	return nil
}
