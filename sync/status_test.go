package sync_test

import (
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
