package sync_test

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
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

// The file sink's warning about a torn last line goes to the daemon's
// logger (its format, its level), not Go's default one.
func TestFileSinkLogsToTheDaemonsLogger(t *testing.T) {
	path := t.TempDir() + "/leads.jsonl"
	if err := os.WriteFile(path, []byte("{\"id\":\"ld_1\"}\n{\"id\":\"ld_2\",\"per"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("test.yaml", []byte(`
sources: [{name: h, provider: hemnet, keys: [k]}]
sinks: [{name: f, type: file, path: `+path+`}]
`))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := statetest.Open(t, state.Options{})
	var buf bytes.Buffer
	built, err := lsync.Build(cfg, slog.New(slog.NewJSONHandler(&buf, nil)), st)
	if err != nil {
		t.Fatal(err)
	}
	defer built.Close()
	if !strings.Contains(buf.String(), `"level":"WARN"`) || !strings.Contains(buf.String(), "torn") {
		t.Fatalf("daemon log = %q, want the torn-line warning", buf.String())
	}
}
