package file

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/leadsync/leadsync/state/owner"
)

// Erase rewrites the file without the lines match selects (a person's
// leads, for GDPR erasure), and returns how many went. The new file is
// written beside the old one, fsync'd and renamed over it, so a crash leaves
// either file whole; the old file's blocks are freed with its inode.
// Deliveries wait while it runs.
func (s *Sink) Erase(match func(leadJSON []byte) bool) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(); err != nil {
		return 0, err
	}
	// A failed write's leftover bytes go first: they would be copied into
	// the new file, and undoTo would then cut that one.
	if err := s.undo(); err != nil {
		return 0, err
	}
	if _, err := os.Stat(s.path); errors.Is(err, fs.ErrNotExist) {
		// Moved away (rotated) or deleted since the last lead: nothing at
		// the path to erase; the next lead starts a new file there.
		return 0, nil
	}
	// Look before rewriting: the copy needs as much free space as the
	// file, and a person the file does not hold needs none.
	if found, err := s.holds(match); err != nil || !found {
		return 0, err
	}
	tmp := s.path + ".erase"
	n, err := s.copyWithout(tmp, match)
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	if n == 0 {
		os.Remove(tmp)
		return 0, nil
	}
	if err := os.Rename(tmp, s.path); err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("erase: %w", err)
	}
	if d, err := os.Open(filepath.Dir(s.path)); err == nil {
		d.Sync()
		d.Close()
	}
	f, err := os.OpenFile(s.path, os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return n, fmt.Errorf("erase: reopen: %w", err)
	}
	s.f.Close()
	s.f = f
	return n, nil
}

// lines scans the leads of a JSONL file, one per line, each up to 64 MiB.
func lines(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	return sc
}

// holds reports whether a line of the file matches.
func (s *Sink) holds(match func([]byte) bool) (bool, error) {
	in, err := os.Open(s.path)
	if err != nil {
		return false, fmt.Errorf("erase: %w", err)
	}
	defer in.Close()
	sc := lines(in)
	for sc.Scan() {
		if match(sc.Bytes()) {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("erase: read: %w", err)
	}
	return false, nil
}

func (s *Sink) copyWithout(tmp string, match func([]byte) bool) (int, error) {
	in, err := os.Open(s.path)
	if err != nil {
		return 0, fmt.Errorf("erase: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return 0, fmt.Errorf("erase: %w", err)
	}
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return 0, fmt.Errorf("erase: %w", err)
	}
	defer out.Close()
	if err := owner.Keep(out.Name(), fi); err != nil {
		return 0, fmt.Errorf("erase: %w", err)
	}
	w := bufio.NewWriterSize(out, 256<<10)
	sc := lines(in)
	n := 0
	for sc.Scan() {
		if match(sc.Bytes()) {
			n++
			continue
		}
		w.Write(sc.Bytes())
		w.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("erase: read: %w", err)
	}
	if err := w.Flush(); err != nil {
		return 0, fmt.Errorf("erase: write: %w", err)
	}
	if err := out.Sync(); err != nil {
		return 0, fmt.Errorf("erase: fsync: %w", err)
	}
	return n, nil
}
