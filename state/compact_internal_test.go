package state

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// Compact writes its copy with the pages Open gives a new file, not the
// operating system's default (4 KiB on most hosts).
func TestCompactKeepsThePageSize(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, _, err := Compact(dir); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Info().PageSize; got != pageSize {
		t.Fatalf("page size after compact = %d, want %d", got, pageSize)
	}
}
