//go:build unix

package file_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/file"
)

// TestEraseKeepsTheOwner erases as root (an offline `leadsync erase` run
// with sudo) from a file the daemon's user owns: the file must stay the
// daemon's, with its mode, or the daemon can no longer append to it.
func TestEraseKeepsTheOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file another owner")
	}
	const uid, gid = 65534, 65533
	path := filepath.Join(t.TempDir(), "leads.jsonl")
	s, err := file.New(file.Config{Name: "archive", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, body := range []string{`{"person":{"email":"anna@example.com"}}`, `{"person":{"email":"bo@example.com"}}`} {
		if err := s.Deliver(context.Background(), sinks.Delivery{ID: "msg_" + body[22:26], Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Erase(func(l []byte) bool { return bytes.Contains(l, []byte("anna@")) }); err != nil || n != 1 {
		t.Fatalf("erase = %d, %v; want 1", n, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid || st.Gid != gid || fi.Mode().Perm() != 0o660 {
		t.Fatalf("after erase: owner %d:%d mode %v, want %d:%d 0660", st.Uid, st.Gid, fi.Mode().Perm(), uid, gid)
	}
}
