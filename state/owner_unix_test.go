//go:build unix

package state_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/leadsync/leadsync/state"
)

// TestRewritesKeepTheOwner runs Compact and Rewrite (what an offline erase
// does) as root on a database the daemon's user owns, as an operator with
// sudo would: the new file must stay the daemon's, with its mode, or the
// service cannot open its own database at its next start.
func TestRewritesKeepTheOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file another owner")
	}
	const uid, gid = 65534, 65533
	dir := t.TempDir()
	path := filepath.Join(dir, state.FileName)
	s, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(personIncoming("k1", "c1", "p1@example.com", "", t0, "a")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	owner := func(when string) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid || fi.Mode().Perm() != 0o660 {
			t.Fatalf("%s: owner %d:%d mode %v, want %d:%d 0660", when, st.Uid, st.Gid, fi.Mode().Perm(), uid, gid)
		}
	}
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o660); err != nil { // group-writable: the umask would take that away
		t.Fatal(err)
	}
	owner("before")

	if _, _, err := state.Compact(dir); err != nil {
		t.Fatal(err)
	}
	owner("after Compact")

	s, err = state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Rewrite(); err != nil {
		t.Fatal(err)
	}
	owner("after Rewrite")
}

// TestRewriteKeepsTheMode: a group-writable database stays so after a
// rewrite, whatever the umask (bbolt creates the new file through it).
func TestRewriteKeepsTheMode(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, state.FileName)
	s, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := os.Chmod(path, 0o660); err != nil {
		t.Fatal(err)
	}
	if err := s.Rewrite(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("after Rewrite: %v, %v; want mode 0660", fi.Mode().Perm(), err)
	}
}
