package state

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func rssFileKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// Reading the whole file maps its pages into the process; releaseMapped
// gives them back to the page cache, and reads still see the same bytes.
func TestReleaseMappedShrinksRSS(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := bytes.Repeat([]byte("x"), 4000)
	for i := range 8 {
		if err := s.update(func(tx *bolt.Tx) error {
			for j := range 1000 {
				if err := tx.Bucket(bRaw).Put([]byte(fmt.Sprintf("%02d%06d", i, j)), body); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	walk := func() {
		s.view(func(tx *bolt.Tx) error {
			return tx.Bucket(bRaw).ForEach(func(_, v []byte) error {
				if !bytes.Equal(v, body) {
					t.Fatal("value changed")
				}
				return nil
			})
		})
	}
	walk()
	before := rssFileKiB(t)
	s.releaseMapped()
	after := rssFileKiB(t)
	t.Logf("RssFile %d kB after reading ~32 MB of values, %d kB after releaseMapped", before, after)
	if before-after < 16<<10 {
		t.Errorf("releaseMapped freed %d kB of mapped file pages, want most of the 32 MB read", before-after)
	}
	walk()
}
