package sync_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/state/statetest"
	lsync "github.com/leadsync/leadsync/sync"
)

// A stopped daemon's status (read from the store) still shows how far
// each customer was reconciled: the saved cursors, in order.
func TestStoreStatusShowsReconcileCursors(t *testing.T) {
	st, _ := statetest.Open(t, state.Options{})
	t1 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	t2 := time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		source, customer string
		at               time.Time
	}{{"reapit", "SBOX", t2}, {"reapit", "ACME", t1}} {
		if err := st.SetCursor(c.source, c.customer, c.at); err != nil {
			t.Fatal(err)
		}
	}
	s, err := lsync.StoreStatus(st, t2.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if s.Running || len(s.Reconcile) != 2 {
		t.Fatalf("status = %+v", s)
	}
	for i, want := range []struct {
		customer string
		at       time.Time
	}{{"ACME", t1}, {"SBOX", t2}} {
		r := s.Reconcile[i]
		if r.Source != "reapit" || r.Customer != want.customer || r.Cursor == nil || !r.Cursor.Equal(want.at) || r.LastRun != nil {
			t.Errorf("row %d = %+v, want reapit/%s at %v", i, r, want.customer, want.at)
		}
	}
}

// Every key of status --json is always there; what never happened is null,
// an error as much as a success.
func TestStatusJSONKeepsEveryKey(t *testing.T) {
	st, _ := statetest.Open(t, state.Options{})
	if err := st.EnsureSinks([]string{"crm"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetCursor("reapit", "ACME", time.Now()); err != nil {
		t.Fatal(err)
	}
	s, err := lsync.StoreStatus(st, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Sinks, Reconcile []map[string]any
	}
	if err := json.Unmarshal(b, &got); err != nil || len(got.Sinks) != 1 || len(got.Reconcile) != 1 {
		t.Fatalf("%s: %v", b, err)
	}
	for _, k := range []string{"last_success", "last_error", "last_error_at"} {
		if v, ok := got.Sinks[0][k]; !ok || v != nil {
			t.Errorf("sink %s = %v (present %v), want null: %s", k, v, ok, b)
		}
	}
	if v, ok := got.Reconcile[0]["last_error"]; !ok || v != nil {
		t.Errorf("reconcile last_error = %v (present %v), want null: %s", v, ok, b)
	}
	// An error that happened reads back through the admin socket's decoder.
	var back lsync.SinkStatus
	if err := json.Unmarshal([]byte(`{"name":"crm","last_error":"503"}`), &back); err != nil || back.LastError != "503" {
		t.Fatalf("decoded %+v, %v", back, err)
	}
}
