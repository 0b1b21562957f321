package state

import (
	"golang.org/x/sys/unix"

	bolt "go.etcd.io/bbolt"
)

// releaseMapped drops the database file's pages from this process's page
// tables (madvise MADV_DONTNEED on bbolt's read-only shared mapping). The
// pages stay in the page cache, and the next read of one maps it again
// with the same bytes; what goes is the resident set that reads left
// behind (the index build at Open reads every dedupe key, the kernel maps
// the pages around each page read, and every commit reads the pages the
// previous one wrote), which otherwise counts in the daemon's RSS for as
// long as it runs.
//
// It runs inside a read transaction: bbolt remaps the file only under an
// exclusive lock that a read transaction holds off, so the mapping cannot
// move meanwhile, and it covers at least the pages the transaction can
// see (tx.Size()); the range stops there (the file itself may be longer
// than the mapping).
func (s *Store) releaseMapped() {
	s.view(func(tx *bolt.Tx) error {
		if n := tx.Size(); n > 0 {
			_, _, errno := unix.Syscall(unix.SYS_MADVISE, tx.DB().Info().Data, uintptr(n), unix.MADV_DONTNEED)
			if errno != 0 {
				s.log.Debug("could not release mapped pages", "err", errno)
			}
		}
		return nil
	})
}
