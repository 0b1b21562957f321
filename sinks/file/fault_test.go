package file_test

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/file"
	"github.com/leadsync/leadsync/sinks/sinktest"
)

// faulty fails the next operations it is told to, like a full disk would:
// a failing write still lands half its bytes.
type faulty struct {
	file.AppendFile
	shortWrites, failWrites, failSyncs, failTruncates int
}

func (f *faulty) Write(p []byte) (int, error) {
	switch {
	case f.failWrites > 0:
		f.failWrites--
		n, _ := f.AppendFile.Write(p[:len(p)/2])
		return n, syscall.ENOSPC
	case f.shortWrites > 0:
		f.shortWrites--
		return f.AppendFile.Write(p[:len(p)/2])
	}
	return f.AppendFile.Write(p)
}

func (f *faulty) Sync() error {
	if f.failSyncs > 0 {
		f.failSyncs--
		return syscall.EIO
	}
	return f.AppendFile.Sync()
}

func (f *faulty) Truncate(size int64) error {
	if f.failTruncates > 0 {
		f.failTruncates--
		return syscall.EIO
	}
	return f.AppendFile.Truncate(size)
}

func TestFailedWriteLeavesNoTornLine(t *testing.T) {
	cases := map[string]faulty{
		"write error":            {failWrites: 1},
		"short write":            {shortWrites: 1},
		"fsync error":            {failSyncs: 1},
		"write and undo fail":    {failWrites: 1, failTruncates: 1},
		"fsync and undo fail":    {failSyncs: 1, failTruncates: 1},
		"undo fails, then again": {failWrites: 1, failTruncates: 2},
	}
	for name, fault := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "leads.jsonl")
			s := open(t, path)
			if err := s.Deliver(t.Context(), sinktest.Sample(1)); err != nil {
				t.Fatal(err)
			}
			before := read(t, path)
			f := fault
			file.WrapFile(s, func(af file.AppendFile) file.AppendFile { f.AppendFile = af; return &f })

			err := s.Deliver(t.Context(), sinktest.Sample(2))
			if err == nil || sinks.IsPermanent(err) {
				t.Fatalf("Deliver = %v, want a retryable error", err)
			}
			if fault.failTruncates == 0 {
				if got := read(t, path); got != before {
					t.Fatalf("file changed by a failed write: %q", got[len(before):])
				}
			}
			// Retried until the fault passes, like the dispatcher does.
			for i := 0; s.Deliver(t.Context(), sinktest.Sample(2)) != nil; i++ {
				if i == 5 {
					t.Fatal("Deliver keeps failing")
				}
			}
			got := lines(t, path)
			if len(got) != 2 || got[1] != string(sinktest.Sample(2).Body) {
				t.Errorf("file after retry: %q", got)
			}
		})
	}
}

func TestFailedWriteErrorSaysWhat(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "leads.jsonl"))
	file.WrapFile(s, func(af file.AppendFile) file.AppendFile { return &faulty{AppendFile: af, failWrites: 1} })
	err := s.Deliver(t.Context(), sinktest.Sample(1))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Deliver = %v, want it to wrap ENOSPC", err)
	}
}

// TestEraseTakesBackAFailedWriteFirst: a failed write whose take-back failed
// too leaves bytes after the last whole line; erase takes them back before
// it copies the file, so that they do not become a line of the new file,
// and the take-back offset does not cut the new one later.
func TestEraseTakesBackAFailedWriteFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leads.jsonl")
	s := open(t, path)
	for i := 1; i <= 2; i++ {
		if err := s.Deliver(t.Context(), sinktest.Sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	f := faulty{failWrites: 1, failTruncates: 1}
	file.WrapFile(s, func(af file.AppendFile) file.AppendFile { f.AppendFile = af; return &f })
	if err := s.Deliver(t.Context(), sinktest.Sample(3)); err == nil {
		t.Fatal("Deliver succeeded through a failing write")
	}
	// Erase the first lead: the second stays, and nothing torn comes along.
	n, err := s.Erase(func(l []byte) bool { return strings.Contains(string(l), "asa1@example.com") })
	if err != nil || n != 1 {
		t.Fatalf("Erase = %d, %v", n, err)
	}
	if err := s.Deliver(t.Context(), sinktest.Sample(4)); err != nil {
		t.Fatal(err)
	}
	got := lines(t, path)
	if len(got) != 2 || got[0] != string(sinktest.Sample(2).Body) || got[1] != string(sinktest.Sample(4).Body) {
		t.Fatalf("file after erase and a delivery: %q", got)
	}
}
