package state_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/state"
)

// filled returns the directory of a closed store holding n events, and its
// file's size.
func filled(t *testing.T, n int) (dir string, size int64) {
	t.Helper()
	dir = t.TempDir()
	s, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		in := incoming("hemnet", fmt.Sprint("ev-", i), fmt.Sprint("c-", i), time.Time{}, "a")
		in.Raw.Body = bytes.Repeat([]byte("x"), 2000)
		in.Raw.Received = t0.Add(time.Duration(i) * time.Second).UnixNano()
		if _, err := s.Commit(in); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return dir, fi.Size()
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// A damaged file is an error that says it is damaged and what to do; it is
// not a crash (a fault reading past a cut-short end, a bbolt assertion on a
// garbled page), and the file is not written to.
func TestDamagedFileIsAnErrorAndLeftAlone(t *testing.T) {
	for name, damage := range map[string]func(t *testing.T, path string, size int64){
		"cut short": func(t *testing.T, path string, size int64) {
			if err := os.Truncate(path, size/2); err != nil {
				t.Fatal(err)
			}
		},
		"garbled pages": func(t *testing.T, path string, size int64) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			junk := bytes.Repeat([]byte{0xA5, 0x3C, 0xFF, 0x01}, int(size)/4)
			if _, err := f.WriteAt(junk[:size-2*8192], 2*8192); err != nil { // every page but the two metas
				t.Fatal(err)
			}
		},
		"not a database": func(t *testing.T, path string, _ int64) {
			if err := os.WriteFile(path, bytes.Repeat([]byte("junk"), 25), 0o640); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir, size := filled(t, 300)
			path := filepath.Join(dir, state.FileName)
			damage(t, path, size)
			before := sum(t, path)
			// A copy for the read-only open: a panic inside bolt.Open
			// leaves the file open and locked (the process then exits).
			roDir := t.TempDir()
			if b, err := os.ReadFile(path); err != nil || os.WriteFile(filepath.Join(roDir, state.FileName), b, 0o640) != nil {
				t.Fatal(err)
			}
			for _, ro := range []bool{false, true} {
				d := dir
				if ro {
					d = roDir
				}
				s, err := state.Open(d, state.Options{ReadOnly: ro})
				if err == nil {
					s.Close()
					t.Fatalf("read-only %v: opened a damaged file", ro)
				}
				if !strings.Contains(err.Error(), "the database file is damaged") || !strings.Contains(err.Error(), "restore the last backup") {
					t.Errorf("read-only %v: %v", ro, err)
				}
			}
			if _, _, err := state.Compact(roDir); err == nil || !strings.Contains(err.Error(), "the database file is damaged") {
				t.Errorf("compact: %v", err)
			}
			if sum(t, path) != before || sum(t, filepath.Join(roDir, state.FileName)) != before {
				t.Error("the damaged file was written to")
			}
		})
	}
}

// An empty (0-byte) file holds nothing: read-only commands say so, the
// daemon starts a new store in its place.
func TestEmptyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, state.FileName)
	if err := os.WriteFile(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := state.Open(dir, state.Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "the file is empty (0 bytes)") {
		t.Fatalf("read-only open of an empty file: %v", err)
	}
	s, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatalf("read-write open of an empty file: %v", err)
	}
	if _, err := s.Commit(incoming("hemnet", "ev-1", "c-1", time.Time{}, "a")); err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// A store that needs no bucket and no migration is opened without a write:
// a file damaged where Open does not read stays as it was.
func TestOpenDoesNotWrite(t *testing.T) {
	dir, _ := filled(t, 10)
	path := filepath.Join(dir, state.FileName)
	before := sum(t, path)
	s, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if sum(t, path) != before {
		t.Error("opening and closing an up-to-date store wrote to it")
	}
}
