package state_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/state/statetest"
	"github.com/leadsync/leadsync/sync/lead"
)

// TestStoreOnFullFileSystem puts the store on a small tmpfs (root only) and
// fills the file system four times while 8 goroutines commit and outcomes are
// acknowledged, freeing it again each time. It proves, at the store level
// and without reopening the database:
//   - a commit that fails returns an error and leaves nothing behind (no
//     dedupe record, event or outbox entry of it), one that succeeds is whole;
//   - a failed commit does not poison its batch's neighbours beyond that
//     commit, nor the commits after the space returns (the first commit after
//     freeing space succeeds: bbolt's rollback leaves a usable database);
//   - an acknowledgement that fails leaves its entry queued;
//   - bbolt's tx.Check passes on the file afterwards.
func TestStoreOnFullFileSystem(t *testing.T) {
	dir, _ := statetest.Tmpfs(t, "4m")
	s, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	pad := strings.Repeat("x", 2000) // raw bodies of a realistic size fill pages fast
	var mu sync.Mutex
	stored, refused := map[string]bool{}, map[string]bool{} // entity ids
	var errs []error
	commitMany := func(prefix string, n int) (ok, failed int) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < n; i += 8 {
					id := fmt.Sprintf("%s-%04d", prefix, i)
					in := personIncoming(id, id, id+"@example.com", "", t0, "a")
					in.Raw.Body = fmt.Appendf(nil, `{"id":%q,"pad":%q}`, id, pad)
					res, err := s.Commit(in)
					mu.Lock()
					switch {
					case err != nil:
						refused[id] = true
						failed++
						if len(errs) < 3 {
							errs = append(errs, err)
						}
					case len(res) != 1 || res[0].Status != lead.StatusAccepted:
						t.Errorf("commit %s: %+v", id, res)
					default:
						stored[id] = true
						ok++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return ok, failed
	}
	filler := filepath.Join(dir, "filler")
	fill := func() {
		f, err := os.Create(filler)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		chunk := make([]byte, 4096)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling the tmpfs: %v", err)
				}
				return
			}
		}
	}

	acked := map[string]bool{} // lead ids
	ackFailed := 0
	for cycle := range 4 {
		if ok, failed := commitMany(fmt.Sprintf("c%d-free", cycle), 40); failed > 0 {
			t.Fatalf("cycle %d: %d of %d commits failed with space free: %v", cycle, failed, ok+failed, errs)
		}
		fill()
		ok, failed := commitMany(fmt.Sprintf("c%d-full", cycle), 200)
		if failed == 0 {
			t.Fatalf("cycle %d: 200 commits on a full file system all succeeded: the fault was not injected", cycle)
		}
		// Acknowledge some deliveries while full: each either goes or stays.
		es, _, err := s.Due("a", t0.AddDate(10, 0, 0), 20, func(e *state.Entry) bool { return acked[e.LeadID] })
		if err != nil {
			t.Fatalf("cycle %d: due while full: %v", cycle, err)
		}
		for i := range es {
			ch := make(chan error, 1)
			if err := s.Ack("a", &es[i], func(err error) { ch <- err }); err != nil {
				t.Fatal(err)
			}
			if err := <-ch; err != nil {
				ackFailed++
			} else {
				acked[es[i].LeadID] = true
			}
		}
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		if _, failed := commitMany(fmt.Sprintf("c%d-after", cycle), 8); failed > 0 {
			t.Fatalf("cycle %d: commits still fail after the space returned: %v", cycle, errs)
		}
		t.Logf("cycle %d: full file system: %d commits succeeded (freed pages), %d failed", cycle, ok, failed)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	statetest.Check(t, dir)

	dedupe, events := dedupeIDs(t, dir), keys(t, dir, "events")
	for id := range stored {
		if !dedupe[lead.EventID(id)] {
			t.Errorf("event %s: committed, but no dedupe record", id)
		}
	}
	for id := range refused {
		if dedupe[lead.EventID(id)] {
			t.Errorf("event %s: its commit failed, but its dedupe record is stored", id)
		}
	}
	if len(events) != len(stored) {
		t.Errorf("%d event records for %d committed events", len(events), len(stored))
	}
	s, err = state.Open(dir, state.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	queued := map[string]bool{}
	for _, e := range dueAll(t, s, "a") {
		queued[e.LeadID] = true
	}
	for id := range stored {
		if l := leadID(id); queued[l] == acked[l] {
			t.Errorf("event %s: queued %v, acknowledged %v", id, queued[l], acked[l])
		}
	}
	for id := range refused {
		if queued[leadID(id)] {
			t.Errorf("event %s: its commit failed, but it is queued", id)
		}
	}
	if len(queued)+len(acked) != len(stored) {
		t.Errorf("%d queued + %d acknowledged, for %d committed", len(queued), len(acked), len(stored))
	}
	t.Logf("%d commits succeeded, %d failed (e.g. %v); %d acks succeeded and %d failed on a full file system; "+
		"every failure left nothing behind, tx.Check clean", len(stored), len(refused), errs[:min(len(errs), 1)],
		len(acked), ackFailed)
}
