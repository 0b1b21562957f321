package state

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadsync/leadsync/sync/lead"
	bolt "go.etcd.io/bbolt"
)

func hemnetItem(key string, received time.Time) *Incoming {
	l := &lead.Lead{Action: lead.ActionCreated, Source: lead.Source{Name: "hemnet", Provider: "hemnet"}}
	ev := lead.Event{Key: key, EntityKey: key, Status: lead.StatusAccepted, Lead: l}
	ev.Finish()
	body, _ := l.Marshal()
	return &Incoming{Raw: RawRequest{Source: "hemnet", Body: []byte(`{}`), Received: received.UnixNano()},
		Items: []Item{{Event: ev, LeadJSON: body, Sinks: []string{"a"}, Via: lead.ViaWebhook}}}
}

func commitOne(t *testing.T, s *Store, in *Incoming) Result {
	t.Helper()
	res, err := s.Commit(in)
	if err != nil || len(res) != 1 {
		t.Fatalf("commit = %v, %v", res, err)
	}
	return res[0]
}

// An index entry is only a hint: one that points nowhere (left by a commit
// that rolled back, or the hash of another id) never makes an event a
// duplicate, and the id it shadowed is still found.
func TestIndexHintsAreVerified(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 4, 13, 10, 0, 0, 0, time.UTC)
	evID := lead.EventID("hemnet:contact:x1")
	s.idx.add(evID, t0.Add(-time.Hour).UnixNano()) // a stale hint
	if r := commitOne(t, s, hemnetItem("hemnet:contact:x1", t0)); r.Status != lead.StatusAccepted {
		t.Fatalf("first sighting with a stale hint = %+v, want accepted", r)
	}
	if _, ok := s.idx.more[evID]; !ok {
		t.Fatal("the id whose hash was taken is not in the overflow map")
	}
	if r := commitOne(t, s, hemnetItem("hemnet:contact:x1", t0.Add(time.Second))); r.Status != lead.StatusDuplicate {
		t.Fatalf("retry = %+v, want duplicate", r)
	}
	// The same after a restart, which rebuilds the index from the keys.
	s.Close()
	if s, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := s.idx.len(); n != 1 {
		t.Fatalf("index after reopen holds %d ids, want 1", n)
	}
	if r := commitOne(t, s, hemnetItem("hemnet:contact:x1", t0.Add(time.Minute))); r.Status != lead.StatusDuplicate {
		t.Fatalf("retry after reopen = %+v, want duplicate", r)
	}
	// Prune forgets the ids it deletes.
	if _, err := s.Prune(t0.Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if n := s.idx.len(); n != 0 {
		t.Fatalf("index after prune holds %d ids, want 0", n)
	}
}

// A schema 1 file (dedupe keyed by id alone) is migrated at Open: retries of
// its events are still duplicates, and its records keep what they said.
func TestOpenMigratesSchema1(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 4, 13, 10, 0, 0, 0, time.UTC)
	evID := lead.EventID("hemnet:contact:old")
	evKey := timeKey(t0, evID)
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bMeta, bDedupe, bEvents, bRaw, bVersions, bStats, bCursors} {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		tx.Bucket(bMeta).Put([]byte("schema"), []byte("1"))
		v, _ := json.Marshal(map[string]any{"e": evID, "s": "accepted", "l": "ld_x", "t": t0.UnixNano(), "k": evKey})
		tx.Bucket(bDedupe).Put([]byte(evID), v)
		er := eventRecord{EventID: evID, Source: "hemnet", Status: "accepted", LeadID: "ld_x", Key: "hemnet:contact:old", Received: t0.UnixNano()}
		ev, _ := er.encode()
		return tx.Bucket(bEvents).Put(evKey, ev)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), `schema "1"`) {
		t.Fatalf("read-only open of a schema 1 file = %v, want a clear refusal", err)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r := commitOne(t, s, hemnetItem("hemnet:contact:old", t0.Add(time.Hour))); r.Status != lead.StatusDuplicate || r.LeadID != "ld_x" {
		t.Fatalf("retry of a migrated event = %+v, want duplicate of ld_x", r)
	}
	s.view(func(tx *bolt.Tx) error {
		k, v := s.dedupeGet(tx, evID)
		rec, err := readDedupe(k, v)
		if err != nil || rec.Received != t0.UnixNano() || string(rec.EventKey) != string(evKey) || rec.Status != "accepted" {
			t.Errorf("migrated record = %+v, %v", rec, err)
		}
		if string(tx.Bucket(bMeta).Get([]byte("schema"))) != SchemaVersion {
			t.Errorf("schema not updated")
		}
		return nil
	})
}

// With nothing pending from before the cut, Prune's look for entries whose
// lead must be copied is read-only: it does not walk the outbox in writer
// steps (each a commit and two syncs).
func TestPruneLooksBeforeItWalksTheOutbox(t *testing.T) {
	var commits atomic.Int64
	s, err := Open(t.TempDir(), Options{OnCommit: func(int, time.Duration) { commits.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 4, 13, 10, 0, 0, 0, time.UTC)
	for i := range 500 {
		commitOne(t, s, hemnetItem(fmt.Sprint("hemnet:contact:", i), t0.Add(time.Duration(i)*time.Millisecond)))
	}
	before := commits.Load()
	if _, err := s.Prune(t0.Add(-time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	if n := commits.Load() - before; n > 10 {
		t.Fatalf("prune with nothing to prune made %d commits over 500 young pending entries", n)
	}
}
