package state_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/state/statetest"
	"github.com/leadsync/leadsync/sync/lead"
)

// filesContaining lists the files under dir whose bytes contain any of needles.
func filesContaining(t *testing.T, dir string, needles ...string) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				hits = append(hits, fmt.Sprintf("%s contains %q", filepath.Base(p), n))
			}
		}
		return nil
	})
	return hits
}

func TestEraseRemovesThePersonEverywhere(t *testing.T) {
	s, dir := statetest.Open(t, state.Options{})
	// Other people: they must all survive.
	const others = 300
	for i := range others {
		commit1(t, s, personIncoming(fmt.Sprint("o", i), fmt.Sprint("oc", i),
			fmt.Sprintf("other%d@example.com", i), fmt.Sprintf("0709%08d", i), t0.Add(time.Duration(i)*time.Second), "a", "b"))
	}
	// The person, three ways: as typed on a form, differently cased with
	// another phone, and by phone only in international form.
	commit1(t, s, personIncoming("p1", "pc1", "john.doe@example.com", "070-111 222 333", t0.Add(time.Hour), "a", "b"))
	commit1(t, s, personIncoming("p2", "pc2", " John.Doe@Example.com", "0733 999 888", t0.Add(time.Hour+time.Second), "a", "b"))
	commit1(t, s, personIncoming("p3", "pc3", "", "+46 70 111 222 333", t0.Add(time.Hour+2*time.Second), "a", "b"))
	// A body that did not map, escaped the way Hemnet escapes: quarantined,
	// no lead, but it names the person.
	q := &state.Incoming{
		Raw: state.RawRequest{Source: "hemnet", Received: t0.Add(2 * time.Hour).UnixNano(),
			Body: []byte(`{"broken":true,"email":"JOHN.DOE\u0040EXAMPLE.COM","note":"tel 070111222333"}`)},
		Items: []state.Item{{Event: lead.Event{Key: "q1", Status: lead.StatusQuarantined, Reason: "unknown type"}}},
	}
	commit1(t, s, q)

	// p1 stays pending in a and b; p2 dies in a and is delivered to b; p3
	// is delivered everywhere.
	es := dueAll(t, s, "a")
	bury(t, s, "a", entryOf(es, leadID("pc2")))
	ack(t, s, "a", entryOf(es, leadID("pc3")))
	es = dueAll(t, s, "b")
	ack(t, s, "b", entryOf(es, leadID("pc2")))
	ack(t, s, "b", entryOf(es, leadID("pc3")))

	secrets := []string{"john.doe@example.com", "John.Doe@Example.com", "070-111 222 333", "+46 70 111 222 333", "0733 999 888"}
	if hits := filesContaining(t, dir, secrets[0]); len(hits) == 0 {
		t.Fatal("the test is blind: the person's email is not in the file before erase")
	}

	got, err := s.Erase("John.Doe@example.com", "070111222333")
	if err != nil {
		t.Fatalf("erase: %v", err)
	}
	want := map[string]int{"leads": 3, "events": 4, "raw": 4, "outbox": 2, "dead": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("erase counts = %v, want %v", got, want)
	}
	if hits := filesContaining(t, dir, secrets...); len(hits) > 0 {
		t.Fatalf("erased data survives in the state dir: %v", hits)
	}

	// Everyone else is intact: queued, replayable.
	for _, sink := range []string{"a", "b"} {
		es := dueAll(t, s, sink)
		if len(es) != others {
			t.Fatalf("sink %s has %d entries after erase, want %d", sink, len(es), others)
		}
	}
	if dl, _ := s.DeadLetters(""); len(dl) != 0 {
		t.Fatalf("dead letters after erase = %+v", dl)
	}
	nraw := 0
	s.Raw(time.Time{}, "", func(_ []byte, r state.RawRequest, ev []state.EventInfo) error {
		nraw++
		if len(ev) != 1 || ev[0].Status != lead.StatusAccepted {
			t.Errorf("raw %s has events %+v", r.Body, ev)
		}
		return nil
	})
	if nraw != others {
		t.Fatalf("%d raw requests left, want %d", nraw, others)
	}
	if _, err := s.RawByEvent(lead.EventID("p1")); err == nil {
		t.Fatal("the erased lead's raw request is still found by its event")
	}

	// A provider retry of an erased event is a duplicate: not re-created.
	if r := commit1(t, s, personIncoming("p1", "pc1", "john.doe@example.com", "070-111 222 333", t0.Add(3*time.Hour), "a", "b")); r.Status != lead.StatusDuplicate {
		t.Fatalf("retry of an erased event = %+v, want duplicate", r)
	}
	if r := commit1(t, s, q); r.Status != lead.StatusDuplicate {
		t.Fatalf("retry of an erased quarantined request = %+v, want duplicate", r)
	}
	if n := len(dueAll(t, s, "a")); n != others {
		t.Fatalf("retry re-queued the erased lead: %d entries", n)
	}
	again, err := s.Erase("john.doe@example.com", "")
	if err != nil || again["leads"] != 0 || again["raw"] != 0 {
		t.Fatalf("second erase = %v, %v; want nothing left", again, err)
	}
	if hits := filesContaining(t, dir, secrets...); len(hits) > 0 {
		t.Fatalf("erased data in the state dir after the retry: %v", hits)
	}
	s.Close()
	leads := leadsInEvents(t, dir)
	if len(leads) != others || leads[leadID("pc1")] || leads[leadID("pc3")] {
		t.Fatalf("%d leads left, erased ones among them: %v", len(leads), leads[leadID("pc1")])
	}
	if !dedupeIDs(t, dir)[lead.EventID("p1")] {
		t.Fatal("erase removed a dedupe record")
	}
}

func TestEraseRefusesVagueInput(t *testing.T) {
	s, _ := statetest.Open(t, state.Options{})
	for _, c := range [][2]string{{"", ""}, {" ", " "}, {"not-an-email", ""}, {"", "112"}, {"", "070-12"}} {
		if _, err := s.Erase(c[0], c[1]); err == nil {
			t.Errorf("Erase(%q, %q) = nil error", c[0], c[1])
		}
	}
}

// A request that carried several contacts (Rechat sends up to 50) goes with
// the person erased from it, and so do the events it produced; the pending
// deliveries of the other contacts it carried must still have their leads.
func TestEraseKeepsTheLeadsOfOthersInTheSameRequest(t *testing.T) {
	s, _ := statetest.Open(t, state.Options{})
	in := personIncoming("m1", "mc1", "john.doe@example.com", "", t0, "a")
	other := personIncoming("m2", "mc2", "jane@example.com", "", t0, "a")
	in.Items = append(in.Items, other.Items...)
	if _, err := s.Commit(in); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Erase("john.doe@example.com", ""); err != nil {
		t.Fatal(err)
	}
	es := dueAll(t, s, "a")
	if len(es) != 1 || es[0].LeadID != leadID("mc2") {
		t.Fatalf("entries after erase = %+v, want only the other contact's", es)
	}
	if !bytes.Contains(es[0].Lead, []byte("jane@example.com")) {
		t.Fatalf("the other contact's pending delivery lost its lead: %q", es[0].Lead)
	}
}

// TestEraseReachesWhatOutlivedItsEvent: retention prunes events but keeps
// dead letters and pending entries, which then hold the lead themselves;
// an erase must still find the person there.
func TestEraseReachesWhatOutlivedItsEvent(t *testing.T) {
	clk := &clock{t: t0}
	s, dir := statetest.Open(t, state.Options{Now: clk.Now})
	commit1(t, s, personIncoming("k1", "c1", "gone@example.com", "", t0, "a"))
	commit1(t, s, personIncoming("k2", "c2", "gone@example.com", "", t0.Add(time.Second), "a"))
	es := due(t, s, "a")
	if len(es) != 2 {
		t.Fatalf("%d due, want 2", len(es))
	}
	done, waitDone := wait(t)
	if err := s.Bury("a", &es[0], "410 Gone", 410, "", done); err != nil {
		t.Fatal(err)
	}
	waitDone()
	if _, err := s.Prune(t0.Add(time.Hour), 0); err != nil { // the events go; the letter and the entry stay
		t.Fatal(err)
	}
	counts, err := s.Erase("gone@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	if counts["dead"] != 1 || counts["outbox"] != 1 {
		t.Fatalf("erase counts %v, want the dead letter and the pending entry", counts)
	}
	s.Close()
	if hits := filesContaining(t, dir, "gone@example.com"); len(hits) > 0 {
		t.Fatalf("after erase: %v", hits)
	}
}
