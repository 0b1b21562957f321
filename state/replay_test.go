package state_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/state/statetest"
	"github.com/leadsync/leadsync/sync/lead"
)

// item maps one event of entity as a provider mapping would: first is the
// mapped first name, so that a "mapping fix" can change it.
func item(key, entity string, version time.Time, first string, received time.Time, via string, sinks ...string) state.Item {
	l := &lead.Lead{Action: lead.ActionCreated, ReceivedAt: lead.Time{Time: received},
		Source: lead.Source{Name: "hemnet", Provider: "hemnet", Via: via},
		Person: lead.Person{FirstName: lead.Str(first)}}
	ev := lead.Event{Key: key, EntityKey: lead.Key("hemnet", entity), Version: version, Status: lead.StatusAccepted, Lead: l}
	ev.Finish()
	body, _ := l.Marshal()
	return state.Item{Event: ev, LeadJSON: body, Sinks: sinks, Via: via}
}

func rawOf(t *testing.T, s *state.Store, eventID string) state.RawRequest {
	t.Helper()
	r, err := s.RawByEvent(eventID)
	if err != nil {
		t.Fatalf("raw by event %s: %v", eventID, err)
	}
	return r
}

func replay1(t *testing.T, s *state.Store, raw state.RawRequest, it state.Item) state.Result {
	t.Helper()
	res, err := s.Replay(&state.Incoming{Raw: raw, Items: []state.Item{it}})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	return res[0]
}

func TestReplayUnchangedChangedAndNewestWins(t *testing.T) {
	now := t0.Add(24 * time.Hour)
	s, _ := statetest.Open(t, state.Options{Now: func() time.Time { return now }})
	in := &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: []byte(`{"first":"Jon"}`), Received: t0.UnixNano()},
		Items: []state.Item{item("k1", "c1", time.Time{}, "Jon", t0, lead.ViaWebhook, "a", "b")}}
	commit1(t, s, in)
	first := dueAll(t, s, "a")[0]
	ack(t, s, "a", &first)
	ack(t, s, "b", &dueAll(t, s, "b")[0])

	raw := rawOf(t, s, lead.EventID("k1"))
	if string(raw.Body) != `{"first":"Jon"}` || len(raw.Key) != 16 {
		t.Fatalf("raw = %+v", raw)
	}
	// The same mapping, replayed later: only received_at and via differ.
	if r := replay1(t, s, raw, item("k1", "c1", time.Time{}, "Jon", now, lead.ViaReplay, "a", "b")); r.Status != state.StatusUnchanged {
		t.Fatalf("replay of the same lead = %+v, want unchanged", r)
	}
	if n := len(dueAll(t, s, "a")); n != 0 {
		t.Fatalf("unchanged replay queued %d entries", n)
	}
	// The fixed mapping: queued again, under a new delivery id.
	fixed := item("k1", "c1", time.Time{}, "John", now, lead.ViaReplay, "a", "b")
	r := replay1(t, s, raw, fixed)
	if r.Status != state.StatusReplayed || r.LeadID != lead.LeadID(lead.Key("hemnet", "c1")) || len(r.Sinks) != 2 {
		t.Fatalf("replay of the fixed lead = %+v, want replayed to a and b", r)
	}
	sum := sha256.Sum256(fixed.LeadJSON)
	wantID := lead.DeliveryID("k1\x00replay\x00"+hex.EncodeToString(sum[:])[:8], "a")
	es := dueAll(t, s, "a")
	if len(es) != 1 || es[0].ID != wantID || es[0].ID == first.ID || string(es[0].Lead) != string(fixed.LeadJSON) || !es[0].Due().Equal(now) {
		t.Fatalf("queued after replay = %+v, want %s due now", es, wantID)
	}
	// Replaying the fix again changes nothing more.
	if r := replay1(t, s, raw, fixed); r.Status != state.StatusUnchanged {
		t.Fatalf("second replay of the fix = %+v, want unchanged", r)
	}
	if n := len(dueAll(t, s, "a")); n != 1 {
		t.Fatalf("second replay queued again: %d entries", n)
	}
	// A provider retry is still a duplicate.
	if r := commit1(t, s, in); r.Status != lead.StatusDuplicate {
		t.Fatalf("retry after replay = %+v", r)
	}

	// Newest wins: once v2 is applied, a fix of v1 is stale.
	commit1(t, s, &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: []byte(`v1`), Received: t0.Add(time.Minute).UnixNano()},
		Items: []state.Item{item("v1", "c2", t0, "Ann", t0, lead.ViaWebhook, "a")}})
	commit1(t, s, &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: []byte(`v2`), Received: t0.Add(2 * time.Minute).UnixNano()},
		Items: []state.Item{item("v2", "c2", t0.Add(time.Second), "Anna", t0, lead.ViaWebhook, "a")}})
	if r := replay1(t, s, rawOf(t, s, lead.EventID("v1")), item("v1", "c2", t0, "Annie", now, lead.ViaReplay, "a")); r.Status != lead.StatusStale {
		t.Fatalf("replay of an older version = %+v, want stale", r)
	}
	if r := replay1(t, s, rawOf(t, s, lead.EventID("v2")), item("v2", "c2", t0.Add(time.Second), "Anna B", now, lead.ViaReplay, "a")); r.Status != state.StatusReplayed {
		t.Fatalf("replay of the newest version = %+v, want replayed", r)
	}
	// Unordered versions: the one received later is the newer.
	commit1(t, s, &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: []byte(`u1`), Received: t0.Add(3 * time.Minute).UnixNano()},
		Items: []state.Item{item("u1", "c3", time.Time{}, "Bo", t0, lead.ViaWebhook, "a")}})
	commit1(t, s, &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: []byte(`u2`), Received: t0.Add(4 * time.Minute).UnixNano()},
		Items: []state.Item{item("u2", "c3", time.Time{}, "Bob", t0, lead.ViaWebhook, "a")}})
	if r := replay1(t, s, rawOf(t, s, lead.EventID("u1")), item("u1", "c3", time.Time{}, "Bobby", now, lead.ViaReplay, "a")); r.Status != lead.StatusStale {
		t.Fatalf("replay of an earlier unordered event = %+v, want stale", r)
	}
	// A versioned event, then an unversioned one received later: the
	// versioned one is the older, and a replay of it is stale.
	commit1(t, s, &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: []byte(`w2`), Received: t0.Add(5 * time.Minute).UnixNano()},
		Items: []state.Item{item("w2", "c4", t0.Add(time.Minute), "Cy", t0, lead.ViaWebhook, "a")}})
	commit1(t, s, &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: []byte(`wu`), Received: t0.Add(6 * time.Minute).UnixNano()},
		Items: []state.Item{item("wu", "c4", time.Time{}, "Cyd", t0, lead.ViaWebhook, "a")}})
	if r := replay1(t, s, rawOf(t, s, lead.EventID("w2")), item("w2", "c4", t0.Add(time.Minute), "Cyril", now, lead.ViaReplay, "a")); r.Status != lead.StatusStale {
		t.Fatalf("replay of a versioned event an unversioned one followed = %+v, want stale", r)
	}
	// A replay of the unversioned one keeps the bar too: an older versioned
	// event arriving after it is stale.
	if r := replay1(t, s, rawOf(t, s, lead.EventID("wu")), item("wu", "c4", time.Time{}, "Cydney", now, lead.ViaReplay, "a")); r.Status != state.StatusReplayed {
		t.Fatalf("replay of the unversioned event = %+v, want replayed", r)
	}
	if r := commit1(t, s, &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: []byte(`w1`), Received: t0.Add(7 * time.Minute).UnixNano()},
		Items: []state.Item{item("w1", "c4", t0, "Cy old", t0, lead.ViaWebhook, "a")}}); r.Status != lead.StatusStale {
		t.Fatalf("an older version after the replay = %+v, want stale", r)
	}
}

func TestReplayOfQuarantined(t *testing.T) {
	s, _ := statetest.Open(t, state.Options{})
	// Quarantined under its own key (the event parsed, its content did not
	// map) and a body quarantined whole (keyed by its hash).
	commit1(t, s, &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: []byte(`{"a":1}`), Received: t0.UnixNano()},
		Items: []state.Item{{Event: lead.Event{Key: "qa", Status: lead.StatusQuarantined, Reason: "unknown form"}}}})
	commit1(t, s, &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: []byte(`{"b":2}`), Received: t0.Add(time.Second).UnixNano()},
		Items: []state.Item{{Event: lead.Event{Key: "hemnet\x00raw\x00hash", Status: lead.StatusQuarantined, Reason: "bad JSON"}}}})
	commit1(t, s, &state.Incoming{Raw: state.RawRequest{Source: "other", Body: []byte(`{"c":3}`), Received: t0.Add(2 * time.Second).UnixNano()},
		Items: []state.Item{{Event: lead.Event{Key: "oc", Status: lead.StatusIgnored, Reason: "ping"}}}})

	type seen struct {
		raw state.RawRequest
		ev  []state.EventInfo
	}
	var got []seen
	if err := s.Raw(t0, "hemnet", func(key []byte, r state.RawRequest, ev []state.EventInfo) error {
		if string(key) != string(r.Key) {
			t.Errorf("key %x, r.Key %x", key, r.Key)
		}
		got = append(got, seen{r, ev})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ev[0].Status != lead.StatusQuarantined || got[0].ev[0].Reason != "unknown form" ||
		got[1].ev[0].EventID != lead.EventID("hemnet\x00raw\x00hash") {
		t.Fatalf("raw(hemnet) = %+v", got)
	}
	var later int
	s.Raw(t0.Add(time.Second), "", func([]byte, state.RawRequest, []state.EventInfo) error { later++; return nil })
	if later != 2 {
		t.Fatalf("raw from t0+1s saw %d requests, want 2", later)
	}
	stop := errors.New("stop")
	if err := s.Raw(time.Time{}, "", func([]byte, state.RawRequest, []state.EventInfo) error { return stop }); err != stop {
		t.Fatalf("raw did not return fn's error: %v", err)
	}

	// The mapping is fixed: both now map.
	if r := replay1(t, s, got[0].raw, item("qa", "ca", time.Time{}, "Cy", t0, lead.ViaReplay, "a")); r.Status != state.StatusReplayed {
		t.Fatalf("replay of a quarantined event = %+v, want replayed", r)
	}
	if r := replay1(t, s, got[1].raw, item("real-key", "cb", time.Time{}, "Di", t0, lead.ViaReplay, "a")); r.Status != state.StatusReplayed {
		t.Fatalf("replay of a body quarantined whole = %+v, want replayed", r)
	}
	if n := len(dueAll(t, s, "a")); n != 2 {
		t.Fatalf("%d queued, want 2", n)
	}
	// The events now say so, and a retry of either answers with the lead.
	s.Raw(time.Time{}, "hemnet", func(_ []byte, r state.RawRequest, ev []state.EventInfo) error {
		switch string(r.Body) {
		case `{"a":1}`:
			if len(ev) != 1 || ev[0].Status != lead.StatusAccepted || ev[0].LeadID == "" {
				t.Errorf("events of the replayed request = %+v", ev)
			}
		case `{"b":2}`:
			if len(ev) != 2 {
				t.Errorf("events of the request quarantined whole = %+v, want the quarantined one and the new one", ev)
			}
		}
		return nil
	})
	r := commit1(t, s, &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: []byte(`{"a":1}`)},
		Items: []state.Item{{Event: lead.Event{Key: "qa", Status: lead.StatusQuarantined}}}})
	if r.Status != lead.StatusDuplicate || r.LeadID != lead.LeadID(lead.Key("hemnet", "ca")) {
		t.Fatalf("retry of the replayed event = %+v", r)
	}
	if _, err := s.RawByEvent(lead.EventID("real-key")); err != nil {
		t.Fatalf("the new event is not linked to its request: %v", err)
	}
	// Still not mappable: reported, nothing changes.
	if r := replay1(t, s, got[0].raw, state.Item{Event: lead.Event{Key: "qa", Status: lead.StatusQuarantined, Reason: "still"}}); r.Status != lead.StatusQuarantined {
		t.Fatalf("replay still quarantined = %+v", r)
	}
}

func TestReplayErrors(t *testing.T) {
	s, _ := statetest.Open(t, state.Options{})
	if _, err := s.RawByEvent("ev_nope"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("raw by unknown event = %v, want ErrNotFound", err)
	}
	if _, err := s.Replay(&state.Incoming{Raw: state.RawRequest{Source: "hemnet"}}); err == nil {
		t.Fatal("replay without a raw key succeeded")
	}
	commit1(t, s, incoming("hemnet", "k1", "c1", time.Time{}, "a"))
	raw := rawOf(t, s, lead.EventID("k1"))
	if _, err := s.Prune(t0.Add(time.Second), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Replay(&state.Incoming{Raw: raw, Items: []state.Item{item("k1", "c1", time.Time{}, "X", t0, lead.ViaReplay, "a")}}); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("replay of a pruned request = %v, want ErrNotFound", err)
	}
}

// A Hemnet contact is its own single event (its event key is its entity
// key), so intake does not index its entry in pending. Replaying it while
// that entry still waits — never tried, or rescheduled after failures —
// must replace the entry, not queue a second delivery beside it.
func TestReplayReplacesAPendingSingleEntry(t *testing.T) {
	for _, tried := range []bool{false, true} {
		name := map[bool]string{false: "never tried", true: "rescheduled"}[tried]
		t.Run(name, func(t *testing.T) {
			now := t0.Add(time.Hour)
			s, _ := statetest.Open(t, state.Options{Now: func() time.Time { return now }})
			key := lead.Key("hemnet", "c9")
			in := &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: []byte(`{"first":"Jon"}`), Received: t0.UnixNano()},
				Items: []state.Item{item(key, "c9", time.Time{}, "Jon", t0, lead.ViaWebhook, "a")}}
			commit1(t, s, in)
			if tried {
				es := dueAll(t, s, "a")
				done, waitDone := wait(t)
				if err := s.Reschedule("a", &es[0], t0.Add(30*time.Minute), "503", 503, done); err != nil {
					t.Fatal(err)
				}
				waitDone()
			}
			fixed := item(key, "c9", time.Time{}, "John", now, lead.ViaReplay, "a")
			if r := replay1(t, s, rawOf(t, s, lead.EventID(key)), fixed); r.Status != state.StatusReplayed {
				t.Fatalf("replay = %+v", r)
			}
			es := dueAll(t, s, "a")
			if len(es) != 1 || string(es[0].Lead) != string(fixed.LeadJSON) {
				ids := []string{}
				for _, e := range es {
					ids = append(ids, e.ID)
				}
				t.Fatalf("queued after replay: %v, want only the replayed lead", ids)
			}
			// Its delivery ends the lead's queue on that sink.
			ack(t, s, "a", &es[0])
			if es := dueAll(t, s, "a"); len(es) != 0 {
				t.Fatalf("left after the ack: %+v", es)
			}
		})
	}
}

// A mapping fix may move an event to another entity. Replaying it then
// queues the new lead, and leaves the old lead's waiting entry (and its
// pending index) as they were: it is not the replayed lead's to replace.
func TestReplayToAnotherEntityLeavesTheOldLeadsEntry(t *testing.T) {
	now := t0.Add(time.Hour)
	s, _ := statetest.Open(t, state.Options{Now: func() time.Time { return now }})
	in := &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: []byte(`{"first":"Jon"}`), Received: t0.UnixNano()},
		Items: []state.Item{item("k1", "c1", time.Time{}, "Jon", t0, lead.ViaWebhook, "a")}}
	commit1(t, s, in)
	moved := item("k1", "c2", time.Time{}, "Jon", now, lead.ViaReplay, "a")
	if r := replay1(t, s, rawOf(t, s, lead.EventID("k1")), moved); r.Status != state.StatusReplayed {
		t.Fatalf("replay = %+v", r)
	}
	leads := map[string]int{}
	for _, e := range dueAll(t, s, "a") {
		leads[e.LeadID]++
	}
	c1, c2 := lead.LeadID(lead.Key("hemnet", "c1")), lead.LeadID(lead.Key("hemnet", "c2"))
	if len(leads) != 2 || leads[c1] != 1 || leads[c2] != 1 {
		t.Fatalf("queued leads after the replay = %v, want one entry each of %s and %s", leads, c1, c2)
	}
}

// When a mapping fix has already moved another event onto a lead (its
// replay entry is the lead's pending one), replaying the lead's own single
// event still replaces that event's waiting intake entry: the lead is then
// queued once, with the newest version, not twice.
func TestReplayReplacesTheSingleEntryBesideAnotherPending(t *testing.T) {
	now := t0.Add(time.Hour)
	s, _ := statetest.Open(t, state.Options{Now: func() time.Time { return now }})
	k1, k2 := lead.Key("hemnet", "c1"), lead.Key("hemnet", "c2") // each its entity's single event
	for _, c := range []string{"c1", "c2"} {
		in := &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: []byte(`{"id":"` + c + `"}`), Received: t0.UnixNano()},
			Items: []state.Item{item(lead.Key("hemnet", c), c, time.Time{}, "Jon", t0, lead.ViaWebhook, "a")}}
		commit1(t, s, in)
	}
	// k2 moves onto c1; then k1 (c1's own event) is replayed with a fix.
	c1 := lead.LeadID(lead.Key("hemnet", "c1"))
	queued := func() (ids []string, body []byte) {
		for _, e := range dueAll(t, s, "a") {
			if e.LeadID == c1 {
				ids, body = append(ids, e.ID), e.Lead
			}
		}
		return ids, body
	}
	moved := item(k2, "c1", time.Time{}, "Jo", now, lead.ViaReplay, "a")
	if r := replay1(t, s, rawOf(t, s, lead.EventID(k2)), moved); r.Status != state.StatusReplayed {
		t.Fatalf("replay of k2 = %+v", r)
	}
	// k2's entry replaces the one c1's own event queued: c1 is queued once.
	if ids, body := queued(); len(ids) != 1 || string(body) != string(moved.LeadJSON) {
		t.Fatalf("c1 queued under %v after k2 moved onto it, want once, with k2's lead", ids)
	}
	fixed := item(k1, "c1", time.Time{}, "John", now, lead.ViaReplay, "a")
	if r := replay1(t, s, rawOf(t, s, lead.EventID(k1)), fixed); r.Status != state.StatusReplayed {
		t.Fatalf("replay of k1 = %+v", r)
	}
	if ids, body := queued(); len(ids) != 1 || string(body) != string(fixed.LeadJSON) {
		t.Fatalf("c1 queued under %v after the replays, want once, with the fixed lead", ids)
	}
}
