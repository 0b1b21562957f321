package state_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/state/statetest"
	"github.com/leadsync/leadsync/sync/lead"
)

func TestCompactOffline(t *testing.T) {
	dir := t.TempDir()
	s, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 2000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Commit(personIncoming(fmt.Sprint("k", i), fmt.Sprint("c", i), fmt.Sprintf("p%d@example.com", i), "",
				t0.Add(time.Duration(i)*time.Second), "a")); err != nil {
				t.Errorf("commit: %v", err)
			}
		}()
	}
	wg.Wait()
	if n, err := s.DropPending("a"); err != nil || n != 2000 {
		t.Fatalf("drop pending = %d, %v", n, err)
	}
	if _, err := s.Prune(t0.Add(1900*time.Second), 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := state.Compact(dir); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("compact while the store is open = %v, want ErrLocked", err)
	}
	s.Close()

	before, after, err := state.Compact(dir)
	if err != nil {
		t.Fatalf("compact: %v", err)
	}
	if after >= before/2 {
		t.Fatalf("compact: %d → %d bytes, want it well under half", before, after)
	}
	t.Logf("compact: %d → %d bytes", before, after)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("state dir holds %v, want only the database", entries)
	}
	statetest.Check(t, dir)

	s, err = state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r := commit1(t, s, personIncoming("k1999", "c1999", "p1999@example.com", "", t0, "a")); r.Status != lead.StatusDuplicate {
		t.Fatalf("kept event after compact = %+v, want duplicate", r)
	}
	if r := commit1(t, s, personIncoming("k0", "c0", "p0@example.com", "", t0, "a")); r.Status != lead.StatusAccepted {
		t.Fatalf("pruned event after compact = %+v, want accepted", r)
	}
}

func TestCompactMissingDir(t *testing.T) {
	if _, _, err := state.Compact(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("compact of no database succeeded")
	}
}

// Rewrite under load: commits, acks and reads keep going while the file is
// swapped several times; none fails, none is lost.
func TestRewriteUnderLoad(t *testing.T) {
	s, dir := statetest.Open(t, state.Options{})
	path := filepath.Join(dir, state.FileName)
	const writers, each = 8, 60
	var wg sync.WaitGroup
	var committed atomic.Int64
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				k := fmt.Sprint("w", w, "-", i)
				res, err := s.Commit(personIncoming(k, k, k+"@example.com", "", t0, "a"))
				if err != nil || res[0].Status != lead.StatusAccepted {
					t.Errorf("commit during rewrite: %+v, %v", res, err)
					return
				}
				committed.Add(1)
			}
		}()
	}
	stopReads := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stopReads:
					return
				default:
				}
				if _, _, err := s.Due("a", t0.Add(time.Hour), 10, nil); err != nil {
					t.Errorf("due during rewrite: %v", err)
				}
				if _, err := s.Sinks(); err != nil {
					t.Errorf("sinks during rewrite: %v", err)
				}
				if _, err := s.Sources(); err != nil {
					t.Errorf("sources during rewrite: %v", err)
				}
				if _, err := s.DeadLetters(""); err != nil {
					t.Errorf("dead letters during rewrite: %v", err)
				}
				// Leave gaps: back-to-back read transactions would starve
				// bbolt's remap as the file grows, which is not the point.
				time.Sleep(time.Millisecond)
			}
		}()
	}
	var rewrites int
	for committed.Load() < writers*each && rewrites < 20 {
		fi0, _ := os.Stat(path)
		if err := s.Rewrite(); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		rewrites++
		fi1, _ := os.Stat(path)
		if os.SameFile(fi0, fi1) {
			t.Fatal("rewrite kept the same inode")
		}
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	close(stopReads)
	readers.Wait()
	t.Logf("%d rewrites during %d commits", rewrites, committed.Load())
	if rewrites < 2 {
		t.Fatalf("only %d rewrites overlapped the commits", rewrites)
	}
	if err := s.Rewrite(); err != nil {
		t.Fatal(err)
	}
	if n := len(dueAll(t, s, "a")); n != writers*each {
		t.Fatalf("%d entries after rewrites, want %d", n, writers*each)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("state dir holds %v, want only the database", entries)
	}
	s.Close()
	if err := s.Rewrite(); !errors.Is(err, state.ErrClosed) {
		t.Fatalf("rewrite after close = %v, want ErrClosed", err)
	}
	if _, err := s.Sources(); !errors.Is(err, state.ErrClosed) {
		t.Fatalf("read after close = %v, want ErrClosed", err)
	}
	// Reopened, the rewritten file is the database.
	s2, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if r := commit1(t, s2, personIncoming("w0-0", "w0-0", "w0-0@example.com", "", t0, "a")); r.Status != lead.StatusDuplicate {
		t.Fatalf("after reopen = %+v, want duplicate", r)
	}
}

func TestOpenRemovesLeftoverRewrite(t *testing.T) {
	dir := t.TempDir()
	s, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	left := filepath.Join(dir, state.FileName+".rewrite")
	os.WriteFile(left, []byte("half a copy with someone@example.com"), 0o600)
	s, err = state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover rewrite copy still there: %v", err)
	}
}
