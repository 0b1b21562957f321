//go:build !linux

package logging

import "os"

// Detect reports whether f is a terminal (approximated by a character
// device) and whether it is connected to journald, which exists only on
// Linux.
func Detect(f *os.File) (isTTY, journal bool) {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0, false
}
