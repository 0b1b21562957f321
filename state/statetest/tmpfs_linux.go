package statetest

import (
	"os"
	"syscall"
	"testing"
)

// Tmpfs mounts a tmpfs of size (as mount takes it: "4m") on a new temp dir
// and unmounts it when the test ends; it skips the test where it cannot
// (not root). remount makes it read-only, or writable again. Tests of a
// full or read-only file system use it.
func Tmpfs(t testing.TB, size string) (dir string, remount func(readOnly bool)) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir = t.TempDir()
	opts := "size=" + size + ",mode=0750"
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir, func(readOnly bool) {
		t.Helper()
		flags := uintptr(syscall.MS_REMOUNT)
		if readOnly {
			flags |= syscall.MS_RDONLY
		}
		if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, opts); err != nil {
			t.Fatalf("remount %s: %v", dir, err)
		}
	}
}
