// Package statetest opens real bbolt stores for tests and checks their
// consistency when the test ends.
package statetest

import (
	"testing"

	"github.com/leadsync/leadsync/state"
	bolt "go.etcd.io/bbolt"
)

// Open opens a store in a fresh t.TempDir(). At cleanup it runs bbolt's
// tx.Check() over the whole file and fails the test on any inconsistency,
// then closes the store (if the test did not).
func Open(t testing.TB, o state.Options) (*state.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := state.Open(dir, o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		Check(t, dir)
	})
	return s, dir
}

// Check opens the database in dir read-only and runs tx.Check().
func Check(t testing.TB, dir string) {
	t.Helper()
	db, err := bolt.Open(dir+"/"+state.FileName, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Errorf("check store: %v", err)
		return
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return nil
	}); err != nil {
		t.Errorf("check store: %v", err)
	}
}
