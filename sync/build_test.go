package sync_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/state/statetest"
	lsync "github.com/leadsync/leadsync/sync"
	"github.com/leadsync/leadsync/sync/config"
)

// TestBuildOverlap: a pollable source without a reconcile schedule, which
// `leadsync reconcile` may still poll by hand, re-reads the default overlap
// before its cursor, as a scheduled one does (it re-read nothing).
func TestBuildOverlap(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte(`
sources:
  - {name: manual, provider: reapit, signature: legacy, client_id: id, client_secret: secret, customers: [ABC]}
  - name: scheduled
    provider: reapit
    signature: legacy
    client_id: id
    client_secret: secret
    customers: [ABC]
    reconcile: {schedule: "@every 15m", overlap: 3m}
sinks: [{name: f, type: file, path: `+t.TempDir()+`/leads.jsonl}]
`))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := statetest.Open(t, state.Options{})
	built, err := lsync.Build(cfg, slog.New(slog.DiscardHandler), st)
	if err != nil {
		t.Fatal(err)
	}
	defer built.Close()
	got := map[string]time.Duration{}
	for _, s := range built.Sources {
		got[s.Source.Name()] = s.Overlap
	}
	if got["manual"] != 10*time.Minute || got["scheduled"] != 3*time.Minute {
		t.Fatalf("overlaps = %v, want manual 10m (the default), scheduled 3m", got)
	}
}
