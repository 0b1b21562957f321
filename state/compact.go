package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/leadsync/leadsync/state/owner"
	bolt "go.etcd.io/bbolt"
)

// rewriteSuffix names the copy a compaction writes next to the database
// before renaming it over it. Open removes a leftover one.
const rewriteSuffix = ".rewrite"

// compactTxSize bounds each transaction of the copy, so a large file is not
// copied in one transaction held in memory.
const compactTxSize = 64 << 20

func removeRewriteTemp(path string) { _ = os.Remove(path + rewriteSuffix) }

// Compact rewrites the database in dir with only its live data, reclaiming
// the pages bbolt keeps after deletes (retention, erase): the file shrinks,
// and freed pages with their old bytes are gone. The daemon must be stopped:
// Compact takes the database's exclusive lock and fails with ErrLocked while
// anyone else holds it. It copies into a new file in dir, syncs it, renames it
// over the database and syncs dir, so a crash at any point leaves either the
// old file or the new one, whole. It returns the file's size before and
// after.
func Compact(dir string) (before, after int64, err error) {
	path := filepath.Join(dir, FileName)
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	before = fi.Size()
	// A damaged file is refused as Open refuses it, and left as it is for
	// inspection: a copy of it would read zeros or garbage as data.
	if err := checkSize(path); err != nil {
		return before, 0, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer onDamage(path, &err, func() { after = 0; os.Remove(path + rewriteSuffix) })
	o := bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, PageSize: pageSize}
	src, err := bolt.Open(path, fi.Mode().Perm(), &o)
	if errors.Is(err, bolt.ErrTimeout) {
		return before, 0, fmt.Errorf("compact %s: %w", path, ErrLocked)
	}
	if refusedAsDamaged(err) {
		return before, 0, damaged(path, err)
	}
	if err != nil {
		return before, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	defer src.Close()
	dst, err := compactTo(src, path, o, fi)
	if err != nil {
		return before, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := dst.Close(); err != nil {
		os.Remove(path + rewriteSuffix)
		return before, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	if _, err := replace(path); err != nil {
		os.Remove(path + rewriteSuffix)
		return before, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	if fi, err = os.Stat(path); err != nil {
		return before, 0, fmt.Errorf("compact: %w", err)
	}
	return before, fi.Size(), nil
}

// Rewrite is Compact for a running store: it pauses every transaction (the
// writer's commits wait, and so do readers; nothing fails), copies the live
// data into a new file, swaps it in and resumes. Erase calls it so that the
// erased bytes do not survive in freed pages. The pause lasts as long as the
// copy: about the time to write the live data once.
//
// The new file is renamed over the old one, whose inode, unlinked and then
// closed, is freed with every byte it held; nothing in the state directory
// refers to it any more. On an error before the rename, the store goes on
// with the old file.
func (s *Store) Rewrite() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.bopts.ReadOnly {
		return errors.New("rewrite: the store is open read-only")
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("rewrite: %w", err)
	}
	dst, err := compactTo(s.db, s.path, s.bopts, fi)
	if err != nil {
		return fmt.Errorf("rewrite %s: %w", s.path, err)
	}
	// dst stays open and becomes the store's database: it holds the flock
	// on the new inode from before the rename, so there is no moment when
	// another process could open the file between close and reopen.
	renamed, err := replace(s.path)
	if !renamed {
		dst.Close()
		os.Remove(s.path + rewriteSuffix)
		return fmt.Errorf("rewrite %s: %w", s.path, err)
	}
	// Renamed: the new file is the database now, whatever else failed.
	old := s.db
	s.db = dst
	if cerr := old.Close(); cerr != nil {
		s.log.Warn("rewrite: closing the replaced database file", "err", cerr)
	}
	if err != nil {
		return fmt.Errorf("rewrite %s: %w", s.path, err)
	}
	return nil
}

// compactTo copies src's live data into path+rewriteSuffix, with the mode and
// owner of the database file (orig), syncs it, and returns it open (with the
// options of the store, syncing on).
func compactTo(src *bolt.DB, path string, o bolt.Options, orig os.FileInfo) (*bolt.DB, error) {
	tmp := path + rewriteSuffix
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	o.ReadOnly = false
	o.NoSync = true // the copy is synced once at the end, not per transaction
	dst, err := bolt.Open(tmp, orig.Mode().Perm(), &o)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*bolt.DB, error) {
		dst.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := owner.Keep(tmp, orig); err != nil {
		return fail(err)
	}
	if err := bolt.Compact(dst, src, compactTxSize); err != nil {
		return fail(fmt.Errorf("copy: %w", err))
	}
	dst.NoSync = false
	if err := fsyncPath(tmp); err != nil {
		return fail(err)
	}
	return dst, nil
}

// replace renames path+rewriteSuffix over path and makes the rename durable
// by syncing the directory. renamed says whether the rename happened (the
// sync may still have failed).
func replace(path string) (renamed bool, err error) {
	if err := os.Rename(path+rewriteSuffix, path); err != nil {
		return false, err
	}
	return true, fsyncPath(filepath.Dir(path))
}

// fsyncPath fsyncs a file or directory by name.
func fsyncPath(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", name, err)
	}
	return f.Close()
}
