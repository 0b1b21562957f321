package state

import (
	"errors"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// An op that counts an event and then fails must leave no count behind:
// not when its batch is rolled back, not when the batch runs again op by
// op, and not in the next commit's counts.
func TestStatsOfFailedOpsAreDropped(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			err := s.update(func(tx *bolt.Tx) error {
				s.stats.add("src", "accepted", int64(i+1))
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			err := s.update(func(tx *bolt.Tx) error {
				s.stats.add("src", "bogus", int64(n+i+1))
				s.stats.add("other", "accepted", 1)
				return errors.New("boom")
			})
			if err == nil {
				t.Error("failing op succeeded")
			}
		}()
	}
	wg.Wait()
	src, err := s.Sources()
	if err != nil || len(src) != 1 || src[0].Name != "src" {
		t.Fatalf("sources = %+v, %v", src, err)
	}
	if c := src[0].Counts; c["accepted"] != n || len(c) != 1 {
		t.Errorf("counts = %v, want %d accepted", c, n)
	}
	if got := src[0].LastEvent.UnixNano(); got != n {
		t.Errorf("last event %d, want %d", got, n)
	}
}
