//go:build !linux

package statetest

import "testing"

// Tmpfs skips the test: mounting a tmpfs is Linux's.
func Tmpfs(t testing.TB, size string) (dir string, remount func(readOnly bool)) {
	t.Skip("needs Linux to mount a tmpfs")
	return "", nil
}
