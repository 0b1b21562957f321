package state_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/state/statetest"
	"github.com/leadsync/leadsync/sync/lead"
)

var t0 = time.Date(2024, 4, 12, 10, 39, 16, 0, time.UTC)

// incoming builds a request carrying one accepted event for entity id.
func incoming(src, eventKey, entity string, version time.Time, sinks ...string) *state.Incoming {
	l := &lead.Lead{Action: lead.ActionCreated, Source: lead.Source{Name: src, Provider: "hemnet"}}
	ev := lead.Event{Key: eventKey, EntityKey: lead.Key(src, entity), Version: version, Status: lead.StatusAccepted, Lead: l}
	ev.Finish()
	body, _ := l.Marshal()
	return &state.Incoming{
		Raw:   state.RawRequest{Source: src, Body: []byte(`{"x":1}`), Received: t0.UnixNano()},
		Items: []state.Item{{Event: ev, LeadJSON: body, Sinks: sinks, Via: lead.ViaWebhook}},
	}
}

func commit1(t *testing.T, s *state.Store, in *state.Incoming) state.Result {
	t.Helper()
	res, err := s.Commit(in)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	if len(res) != 1 {
		t.Fatalf("results = %d, want 1", len(res))
	}
	return res[0]
}

func due(t *testing.T, s *state.Store, sink string) []state.Entry {
	t.Helper()
	es, _, err := s.Due(sink, t0.Add(time.Hour), 1000, nil)
	if err != nil {
		t.Fatalf("due: %v", err)
	}
	return es
}

func wait(t *testing.T) (func(error), func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	var got error
	return func(err error) { got = err; wg.Done() }, func() {
		t.Helper()
		wg.Wait()
		if got != nil {
			t.Fatalf("async op: %v", got)
		}
	}
}

func TestCommitAcceptedThenDuplicate(t *testing.T) {
	s, dir := statetest.Open(t, state.Options{})
	r := commit1(t, s, incoming("hemnet", "k1", "c1", time.Time{}, "a", "b"))
	if r.Status != lead.StatusAccepted || r.LeadID == "" || r.EventID != lead.EventID("k1") {
		t.Fatalf("first commit = %+v", r)
	}
	if n := len(due(t, s, "a")); n != 1 {
		t.Fatalf("sink a has %d entries, want 1", n)
	}
	if n := len(due(t, s, "b")); n != 1 {
		t.Fatalf("sink b has %d entries, want 1", n)
	}
	first, err := s.Sources()
	if err != nil || len(first) != 1 {
		t.Fatalf("sources = %+v, %v", first, err)
	}
	retry := incoming("hemnet", "k1", "c1", time.Time{}, "a", "b")
	retry.Raw.Received = t0.Add(time.Hour).UnixNano() // a retry an hour later
	r2 := commit1(t, s, retry)
	if r2.Status != lead.StatusDuplicate || r2.LeadID != r.LeadID {
		t.Fatalf("second commit = %+v, want duplicate of %s", r2, r.LeadID)
	}
	if n := len(due(t, s, "a")); n != 1 {
		t.Fatalf("duplicate queued again: sink a has %d entries", n)
	}
	// The retry is counted, in the store: the count outlives a restart.
	// It is not the source's last event (the event it repeats was).
	s.Close()
	s, err = state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src, err := s.Sources()
	if err != nil || len(src) != 1 || src[0].Counts["accepted"] != 1 || src[0].Counts["duplicate"] != 1 {
		t.Fatalf("sources after a restart = %+v, %v; want 1 accepted, 1 duplicate", src, err)
	}
	if !src[0].LastEvent.Equal(first[0].LastEvent) {
		t.Errorf("last event %v, want the first commit's %v: a duplicate is not an event of its own", src[0].LastEvent, first[0].LastEvent)
	}
}

func TestVersionKeyMakesOneEvent(t *testing.T) {
	s, _ := statetest.Open(t, state.Options{})
	a := incoming("reapit", "webhook-key", "A1", t0, "a")
	a.Items[0].Event.VersionKey = "etag-1"
	b := incoming("reapit", "poll-key", "A1", t0, "a")
	b.Items[0].Event.VersionKey = "etag-1"
	if r := commit1(t, s, a); r.Status != lead.StatusAccepted {
		t.Fatalf("webhook = %+v", r)
	}
	if r := commit1(t, s, b); r.Status != lead.StatusDuplicate {
		t.Fatalf("poll of the same change = %+v, want duplicate", r)
	}
	if r := commit1(t, s, b); r.Status != lead.StatusDuplicate {
		t.Fatalf("poll again = %+v, want duplicate", r)
	}
	// Both are counted: the first found by its version key, the second by
	// the event key the first remembered.
	if src, err := s.Sources(); err != nil || len(src) != 1 || src[0].Counts["duplicate"] != 2 || src[0].Counts["accepted"] != 1 {
		t.Fatalf("sources = %+v, %v; want 1 accepted, 2 duplicates", src, err)
	}
}

// An event without a version is applied, but does not lower the bar: an
// older versioned event arriving after it is still stale.
func TestUnversionedEventKeepsTheBar(t *testing.T) {
	s, _ := statetest.Open(t, state.Options{})
	commit1(t, s, incoming("reapit", "v2", "A1", t0.Add(time.Minute), "a"))
	if r := commit1(t, s, incoming("reapit", "u", "A1", time.Time{}, "a")); r.Status != lead.StatusAccepted {
		t.Fatalf("unversioned = %+v, want accepted", r)
	}
	if r := commit1(t, s, incoming("reapit", "v1", "A1", t0, "a")); r.Status != lead.StatusStale {
		t.Fatalf("older version after an unversioned one = %+v, want stale", r)
	}
	if r := commit1(t, s, incoming("reapit", "v3", "A1", t0.Add(2*time.Minute), "a")); r.Status != lead.StatusAccepted {
		t.Fatalf("newer version = %+v, want accepted", r)
	}
}

func TestNewestWinsAndReplacesPending(t *testing.T) {
	s, _ := statetest.Open(t, state.Options{})
	commit1(t, s, incoming("reapit", "v2", "A1", t0.Add(time.Minute), "a"))
	if r := commit1(t, s, incoming("reapit", "v1", "A1", t0, "a")); r.Status != lead.StatusStale {
		t.Fatalf("older version = %+v, want stale", r)
	}
	es := due(t, s, "a")
	if len(es) != 1 || es[0].EventID != lead.EventID("v2") {
		t.Fatalf("outbox = %+v, want only v2", es)
	}
	commit1(t, s, incoming("reapit", "v3", "A1", t0.Add(2*time.Minute), "a"))
	es = due(t, s, "a")
	if len(es) != 1 || es[0].EventID != lead.EventID("v3") {
		t.Fatalf("outbox = %+v, want v3 to replace pending v2", es)
	}
	// The stored events say what became of each: the stale one without
	// its lead or sinks (its record is not the one prepared before the
	// transaction).
	got := map[string]state.EventInfo{}
	err := s.Raw(time.Time{}, "", func(_ []byte, _ state.RawRequest, evs []state.EventInfo) error {
		for _, e := range evs {
			got[e.EventID] = e
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if e := got[lead.EventID("v1")]; e.Status != lead.StatusStale || e.Reason == "" || len(e.Sinks) != 0 {
		t.Errorf("stale event stored as %+v", e)
	}
	if e := got[lead.EventID("v2")]; e.Status != lead.StatusAccepted || len(e.Sinks) != 1 || e.LeadID == "" {
		t.Errorf("accepted event stored as %+v", e)
	}
}

func TestAckRescheduleBury(t *testing.T) {
	s, _ := statetest.Open(t, state.Options{Now: func() time.Time { return t0 }})
	commit1(t, s, incoming("hemnet", "k1", "c1", time.Time{}, "a"))
	commit1(t, s, incoming("hemnet", "k2", "c2", time.Time{}, "a"))
	commit1(t, s, incoming("hemnet", "k3", "c3", time.Time{}, "a"))
	es := due(t, s, "a")
	if len(es) != 3 {
		t.Fatalf("due = %d, want 3", len(es))
	}
	done, waitDone := wait(t)
	if err := s.Ack("a", &es[0], done); err != nil {
		t.Fatal(err)
	}
	waitDone()
	later := t0.Add(2 * time.Hour)
	done, waitDone = wait(t)
	if err := s.Reschedule("a", &es[1], later, "503 Service Unavailable", 503, done); err != nil {
		t.Fatal(err)
	}
	waitDone()
	done, waitDone = wait(t)
	if err := s.Bury("a", &es[2], "400 Bad Request", 400, `{"error":"bad"}`, done); err != nil {
		t.Fatal(err)
	}
	waitDone()

	if got := due(t, s, "a"); len(got) != 0 {
		t.Fatalf("due now = %+v, want none", got)
	}
	got, next, err := s.Due("a", later, 10, nil)
	if err != nil || len(got) != 1 || got[0].Attempt != 1 || got[0].LastStatus != 503 {
		t.Fatalf("due later = %+v, %v", got, err)
	}
	if !next.IsZero() {
		t.Fatalf("next = %v, want none", next)
	}
	dl, err := s.DeadLetters("a")
	if err != nil || len(dl) != 1 || dl[0].Status != 400 || dl[0].Response != `{"error":"bad"}` {
		t.Fatalf("dead letters = %+v, %v", dl, err)
	}
	n, err := s.RetryDead("a", nil)
	if err != nil || n != 1 {
		t.Fatalf("retry dead = %d, %v", n, err)
	}
	if got := due(t, s, "a"); len(got) != 1 || got[0].ID != dl[0].ID || got[0].Attempt != 0 {
		t.Fatalf("after retry, due = %+v", got)
	}
	sinks, err := s.Sinks()
	if err != nil || len(sinks) != 1 || sinks[0].Pending != 2 || sinks[0].Dead != 0 {
		t.Fatalf("sinks = %+v, %v", sinks, err)
	}
}

// TestRescheduleOfSupersededEntryDropsIt: v2 arrives while v1 is being
// tried; v1's reschedule drops it, and v2, held back meanwhile, waits as
// long as the sink asked v1 to.
func TestRescheduleOfSupersededEntryDropsIt(t *testing.T) {
	s, _ := statetest.Open(t, state.Options{})
	commit1(t, s, incoming("reapit", "v1", "A1", t0, "a"))
	inflight := due(t, s, "a")[0]
	commit1(t, s, incoming("reapit", "v2", "A1", t0.Add(time.Second), "a"))
	done, waitDone := wait(t)
	if err := s.Reschedule("a", &inflight, t0.Add(2*time.Hour), "429 Too Many Requests", 429, done); err != nil {
		t.Fatal(err)
	}
	waitDone()
	if got := due(t, s, "a"); len(got) != 0 {
		t.Fatalf("%d entries due before the wait the sink asked for, want none", len(got))
	}
	got, _, _ := s.Due("a", t0.Add(2*time.Hour), 10, nil)
	if len(got) != 1 || got[0].EventID != lead.EventID("v2") {
		t.Fatalf("outbox = %+v, want only v2", got)
	}
	// Acking the superseded attempt must not unlink v2's pending entry.
	done, waitDone = wait(t)
	s.Ack("a", &inflight, done)
	waitDone()
	commit1(t, s, incoming("reapit", "v3", "A1", t0.Add(2*time.Second), "a"))
	got, _, _ = s.Due("a", t0.Add(2*time.Hour), 10, nil)
	if len(got) != 1 || got[0].EventID != lead.EventID("v3") {
		t.Fatalf("outbox = %+v, want only v3", got)
	}
}

// TestSupersedingKeepsTheWait: a newer version that replaces an entry the
// sink asked to wait for (Retry-After, or backoff after a 5xx) waits as long:
// it goes to the same sink, which is no readier for it.
func TestSupersedingKeepsTheWait(t *testing.T) {
	s, _ := statetest.Open(t, state.Options{})
	commit1(t, s, incoming("reapit", "v1", "A1", t0, "a"))
	e := due(t, s, "a")[0]
	later := t0.Add(2 * time.Hour)
	done, waitDone := wait(t)
	if err := s.Reschedule("a", &e, later, "429 Too Many Requests", 429, done); err != nil {
		t.Fatal(err)
	}
	waitDone()
	commit1(t, s, incoming("reapit", "v2", "A1", t0.Add(time.Second), "a"))
	if got := due(t, s, "a"); len(got) != 0 {
		t.Fatalf("%d entries due before the wait the sink asked for, want none", len(got))
	}
	got, _, err := s.Due("a", later, 10, nil)
	if err != nil || len(got) != 1 || got[0].EventID != lead.EventID("v2") || got[0].Attempt != 0 {
		t.Fatalf("due after the wait = %+v, %v; want v2 alone, not yet tried", got, err)
	}
	if c := time.Unix(0, got[0].Created); !c.Equal(t0) {
		t.Fatalf("v2 created %v, want %v (max_age counts from when it arrived)", c, t0)
	}
}

func TestGroupCommitSharesTransactions(t *testing.T) {
	var commits, ops atomic.Int64
	s, _ := statetest.Open(t, state.Options{OnCommit: func(n int, _ time.Duration) {
		commits.Add(1)
		ops.Add(int64(n))
	}})
	const n = 400
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := fmt.Sprint("k", i)
			if r := commit1(t, s, incoming("hemnet", k, k, time.Time{}, "a")); r.Status != lead.StatusAccepted {
				t.Errorf("commit %d = %+v", i, r)
			}
		}()
	}
	wg.Wait()
	if got := len(due(t, s, "a")); got != n {
		t.Fatalf("outbox has %d entries, want %d", got, n)
	}
	if commits.Load() >= n {
		t.Errorf("%d commits for %d concurrent requests: no grouping", commits.Load(), n)
	}
	t.Logf("%d ops in %d commits", ops.Load(), commits.Load())
}

func TestPersistsAcrossReopenAndRefusesAfterClose(t *testing.T) {
	dir := t.TempDir()
	s, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	commit1(t, s, incoming("hemnet", "k1", "c1", time.Time{}, "a"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(incoming("hemnet", "k2", "c2", time.Time{}, "a")); !errors.Is(err, state.ErrClosed) {
		t.Fatalf("commit after close = %v, want ErrClosed", err)
	}
	s2, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if r := commit1(t, s2, incoming("hemnet", "k1", "c1", time.Time{}, "a")); r.Status != lead.StatusDuplicate {
		t.Fatalf("after reopen = %+v, want duplicate", r)
	}
	if _, err := state.Open(dir, state.Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("second open = %v, want ErrLocked", err)
	}
	s2.Close()
	statetest.Check(t, dir)
}

// The stats are counted per commit (see statBatch): under concurrent
// commits that share batches, and with duplicates, every source's counts
// are exactly the events committed (each sent twice: once accepted, once a
// duplicate), and its last event the newest.
// (TestStatsOfFailedOpsAreDropped covers ops that fail.)
func TestStatsCountEveryCommittedEventOnce(t *testing.T) {
	s, _ := statetest.Open(t, state.Options{})
	const workers, each = 16, 30
	var wg sync.WaitGroup
	newest := t0.Add(time.Duration(workers*each) * time.Second)
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := g*each + i
				id := fmt.Sprintf("c-%04d", n)
				at := t0.Add(time.Duration(n+1) * time.Second)
				for range 2 {
					if _, err := s.Commit(personIncoming(id, id, id+"@example.com", "", at, "a")); err != nil {
						t.Errorf("commit %s: %v", id, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	src, err := s.Sources()
	if err != nil || len(src) != 1 {
		t.Fatalf("sources = %+v, %v", src, err)
	}
	if c := src[0].Counts; c["accepted"] != workers*each || c["duplicate"] != workers*each || len(c) != 2 {
		t.Errorf("counts = %v, want %d accepted, as many duplicates and nothing else", c, workers*each)
	}
	if !src[0].LastEvent.Equal(newest) {
		t.Errorf("last event %v, want %v", src[0].LastEvent, newest)
	}
}
