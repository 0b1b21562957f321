package state

import (
	"fmt"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// scan visits every key once, in order, across read transactions of a few
// keys each, and stops where fn says.
func TestScanBatchesAndStops(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bucket := []byte("scan-test")
	var want []string
	if err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		for i := range 7 {
			k := fmt.Sprintf("k%02d", i)
			want = append(want, k)
			if err := b.Put([]byte(k), []byte("v")); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int{1, 2, 3, 7, 100} {
		var got []string
		if err := s.scan(bucket, batch, func(k, _ []byte) bool {
			got = append(got, string(k))
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("batch %d: scanned %v, want %v", batch, got, want)
		}
		got = got[:0]
		if err := s.scan(bucket, batch, func(k, _ []byte) bool {
			got = append(got, string(k))
			return len(got) < 4
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want[:4]) {
			t.Errorf("batch %d, stopping at the 4th: scanned %v", batch, got)
		}
	}
}
