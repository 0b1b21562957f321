package logging

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Detect reports whether f is a terminal and whether it is connected to
// journald. The latter follows systemd.exec(5): $JOURNAL_STREAM holds the
// "device:inode" of the stream systemd connected stdout/stderr to, and
// matches f only if f was not redirected since.
func Detect(f *os.File) (isTTY, journal bool) {
	fd := int(f.Fd())
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	isTTY = err == nil

	devIno, ok := os.LookupEnv("JOURNAL_STREAM")
	if !ok {
		return isTTY, false
	}
	dev, ino, ok := strings.Cut(devIno, ":")
	if !ok {
		return isTTY, false
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return isTTY, false
	}
	return isTTY, dev == strconv.FormatUint(uint64(st.Dev), 10) &&
		ino == strconv.FormatUint(uint64(st.Ino), 10)
}
