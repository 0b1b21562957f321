package state_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/state/statetest"
	"github.com/leadsync/leadsync/sync/lead"
)

// TestPruneRetention commits 5,000 events a minute apart for 2,500
// entities (event i and i+2500 are two versions of entity i%2500), delivers
// most, and prunes at minute 3,000: exactly the older raw requests, events
// and dedupe records go, and of the entities whose both events are older
// (0…499) exactly those delivered with no dead letter left. Dead letters
// stay, however old, with their leads: they never reached their sink.
func TestPruneRetention(t *testing.T) {
	var commits atomic.Int64
	clk := &clock{t: t0}
	s, dir := statetest.Open(t, state.Options{Now: clk.Now, OnCommit: func(int, time.Duration) { commits.Add(1) }})
	const events, entities, cutMin = 5000, 2500, 3000
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	// Two rounds, so that the second version of an entity is committed after
	// the first; within a round in parallel, so that commits group.
	for round := range 2 {
		var cw sync.WaitGroup
		for w := range 16 {
			cw.Add(1)
			go func() {
				defer cw.Done()
				for i := round*entities + w; i < (round+1)*entities; i += 16 {
					e := i % entities
					if _, err := s.Commit(personIncoming(fmt.Sprint("k", i), fmt.Sprint("c", e),
						fmt.Sprintf("p%d@example.com", e), "", at(i), "a")); err != nil {
						t.Errorf("commit: %v", err)
					}
				}
			}()
		}
		cw.Wait()
	}
	cut := at(cutMin)

	es := dueAll(t, s, "a")
	if len(es) != entities {
		t.Fatalf("%d pending, want one per entity (%d)", len(es), entities)
	}
	var keep []string // old entities whose lead must stay
	entityOf := map[string]int{}
	for x := range entities {
		entityOf[leadID(fmt.Sprint("c", x))] = x
	}
	var acks, diedOld, diedNew []state.Entry
	for _, e := range es {
		switch ent := entityOf[e.LeadID]; {
		case ent >= 500: // recent: kept whatever its delivery
			acks = append(acks, e)
		case ent%10 == 0: // still pending: kept
			keep = append(keep, e.LeadID)
		case ent%10 == 1: // died before the cut: letter and lead stay all the same
			diedOld = append(diedOld, e)
			keep = append(keep, e.LeadID)
		case ent%10 == 2: // died after the cut: letter and lead stay
			diedNew = append(diedNew, e)
			keep = append(keep, e.LeadID)
		default: // delivered: goes
			acks = append(acks, e)
		}
	}
	// Asynchronously, as the dispatcher does, so that they group.
	settle := func(es []state.Entry, op func(e *state.Entry, done func(error)) error) {
		var wg sync.WaitGroup
		for i := range es {
			wg.Add(1)
			if err := op(&es[i], func(err error) {
				if err != nil {
					t.Errorf("settle: %v", err)
				}
				wg.Done()
			}); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
	}
	settle(acks, func(e *state.Entry, done func(error)) error { return s.Ack("a", e, done) })
	clk.Set(cut.Add(-time.Hour))
	settle(diedOld, func(e *state.Entry, done func(error)) error { return s.Bury("a", e, "410 Gone", 410, "", done) })
	clk.Set(cut.Add(time.Hour))
	settle(diedNew, func(e *state.Entry, done func(error)) error { return s.Bury("a", e, "410 Gone", 410, "", done) })

	// Intake goes on during the prune, and is not pruned.
	var wg sync.WaitGroup
	stopIntake := make(chan struct{})
	var during atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stopIntake:
				return
			default:
			}
			r, err := s.Commit(personIncoming(fmt.Sprint("new", i), fmt.Sprint("n", i), "n@example.com", "", at(events+i), "a"))
			if err != nil || r[0].Status != lead.StatusAccepted {
				t.Errorf("commit during prune: %+v, %v", r, err)
				return
			}
			during.Add(1)
		}
	}()
	before := commits.Load()
	got, err := s.Prune(cut, 100)
	close(stopIntake)
	wg.Wait()
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	want := map[string]int{"raw": cutMin, "events": cutMin, "dedupe": cutMin, "versions": 350}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("prune = %v, want %v", got, want)
	}
	if n := commits.Load() - before; n < 2*cutMin/100 {
		t.Errorf("prune ran in %d commits: not in steps of 100 keys", n)
	}
	t.Logf("%d commits during prune, %d of them intake", commits.Load()-before, during.Load())

	// What is left is exactly what is younger.
	var first time.Time
	nraw := 0
	if err := s.Raw(time.Time{}, "hemnet", func(_ []byte, r state.RawRequest, ev []state.EventInfo) error {
		if nraw == 0 {
			first = time.Unix(0, r.Received)
		}
		nraw++
		if len(ev) != 1 {
			t.Errorf("raw at %v has %d events", time.Unix(0, r.Received), len(ev))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if wantRaw := events - cutMin + int(during.Load()); nraw != wantRaw || !first.Equal(cut) {
		t.Fatalf("%d raw requests left from %v, want %d from %v", nraw, first, wantRaw, cut)
	}
	pending := dueAll(t, s, "a")
	if len(pending) != 50+int(during.Load()) {
		t.Fatalf("%d pending after prune, want %d", len(pending), 50+during.Load())
	}
	// Their events went, but not their leads (copied into the entries).
	for _, e := range pending {
		var l lead.Lead
		if err := json.Unmarshal(e.Lead, &l); err != nil || l.ID != e.LeadID {
			t.Fatalf("pending entry %s after prune: lead %q (%v)", e.ID, e.Lead, err)
		}
	}
	dl, _ := s.DeadLetters("a")
	if len(dl) != 100 {
		t.Fatalf("%d dead letters after prune, want 100 (none pruned)", len(dl))
	}
	for _, d := range dl {
		var l lead.Lead
		if err := json.Unmarshal(d.Lead, &l); err != nil || l.ID != d.LeadID {
			t.Fatalf("dead letter %s after prune: lead %q (%v)", d.ID, d.Lead, err)
		}
	}
	// A retry of a pruned event is new again; of a kept one, a duplicate.
	if r := commit1(t, s, personIncoming(fmt.Sprint("k", cutMin), "c500", "p500@example.com", "", at(cutMin), "a")); r.Status != lead.StatusDuplicate {
		t.Fatalf("retry of a kept event = %+v", r)
	}
	s.Close()
	versions := keys(t, dir, "versions")
	for _, id := range keep {
		if !versions[id] {
			t.Errorf("entity %s (pending or with a dead letter) was pruned", id)
		}
	}
	if n := len(versions); n != entities-350+int(during.Load()) {
		t.Fatalf("%d entities left, want %d", n, entities-350+during.Load())
	}
	if n := len(keys(t, dir, "dedupe")); n != events-cutMin+int(during.Load()) {
		t.Fatalf("%d dedupe records left, want %d", n, events-cutMin+during.Load())
	}
}

// The dedupe records of a change seen twice (webhook, then poll) go with it.
func TestPruneVersionKeyAndAliases(t *testing.T) {
	s, dir := statetest.Open(t, state.Options{})
	a := incoming("reapit", "webhook-key", "A1", t0, "a")
	a.Items[0].Event.VersionKey = "etag-1"
	b := incoming("reapit", "poll-key", "A1", t0, "a")
	b.Items[0].Event.VersionKey = "etag-1"
	commit1(t, s, a)
	if r := commit1(t, s, b); r.Status != lead.StatusDuplicate {
		t.Fatalf("poll = %+v", r)
	}
	got, err := s.Prune(t0.Add(time.Second), 0)
	if err != nil || got["dedupe"] != 3 || got["events"] != 1 || got["leads"] != 0 {
		t.Fatalf("prune = %v, %v; want 3 dedupe records, 1 event, the pending lead kept", got, err)
	}
	s.Close()
	if n := len(keys(t, dir, "dedupe")); n != 0 {
		t.Fatalf("%d dedupe records left", n)
	}
}

func TestPruneZeroTimeKeepsAll(t *testing.T) {
	s, _ := statetest.Open(t, state.Options{})
	commit1(t, s, incoming("hemnet", "k1", "c1", time.Time{}, "a"))
	got, err := s.Prune(time.Time{}, 10)
	if err != nil || got["raw"] != 0 || got["events"] != 0 {
		t.Fatalf("prune(zero) = %v, %v", got, err)
	}
}

// A lead is stored once, in its event; the outbox entry names the event.
// An entry read before a prune and rescheduled after it keeps the lead the
// prune copied into it.
func TestOutboxEntryNamesItsEventAndSurvivesPrune(t *testing.T) {
	s, dir := statetest.Open(t, state.Options{})
	commit1(t, s, personIncoming("k1", "c1", "p1@example.com", "", t0, "a"))
	es := dueAll(t, s, "a")
	if len(es) != 1 || len(es[0].Ref) == 0 {
		t.Fatalf("entries = %+v, want one naming its event", es)
	}
	var l lead.Lead
	if err := json.Unmarshal(es[0].Lead, &l); err != nil || *l.Person.Email != "p1@example.com" {
		t.Fatalf("Due filled in lead %s (%v)", es[0].Lead, err)
	}
	if _, err := s.Prune(t0.Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	done, waitDone := wait(t)
	if err := s.Reschedule("a", &es[0], t0.Add(time.Minute), "503", 503, done); err != nil {
		t.Fatal(err)
	}
	waitDone()
	after := dueAll(t, s, "a")
	if len(after) != 1 || len(after[0].Ref) != 0 || !json.Valid(after[0].Lead) || after[0].Attempt != 1 {
		t.Fatalf("after prune and reschedule: %+v", after)
	}
	if err := json.Unmarshal(after[0].Lead, &l); err != nil || *l.Person.Email != "p1@example.com" {
		t.Fatalf("lead after prune: %s (%v)", after[0].Lead, err)
	}
	s.Close()
	if n := len(keys(t, dir, "events")); n != 0 {
		t.Fatalf("%d events left after prune", n)
	}
}
