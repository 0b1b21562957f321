package file_test

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/file"
	"github.com/leadsync/leadsync/sinks/sinktest"
	"github.com/leadsync/leadsync/state/statetest"
)

// TestNewOnReadOnlyFileSystemStartsDown: a file sink whose file cannot be
// opened for a reason that may pass (here a read-only file system; likewise
// access rights) does not stop the daemon: New succeeds, each delivery
// fails as retryable (the lead waits in the outbox), and once the file
// system is writable again the next delivery opens the file and lands.
func TestNewOnReadOnlyFileSystemStartsDown(t *testing.T) {
	dir, remount := statetest.Tmpfs(t, "1m")
	remount(true)
	path := filepath.Join(dir, "sub", "leads.jsonl")
	s, err := file.New(file.Config{Name: "archive", Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("New on a read-only file system: %v; want a sink that waits", err)
	}
	defer s.Close()
	d := sinktest.Sample(1)
	if err := s.Deliver(t.Context(), d); err == nil || sinks.IsPermanent(err) {
		t.Fatalf("Deliver on a read-only file system = %v, want a retryable error", err)
	}
	// A pending sink that is closed stays closed.
	closed, err := file.New(file.Config{Name: "old", Path: filepath.Join(dir, "old.jsonl"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	remount(false)
	if err := closed.Deliver(t.Context(), d); err == nil {
		t.Error("a closed sink delivered")
	}
	if err := s.Deliver(t.Context(), d); err != nil {
		t.Fatalf("Deliver once writable: %v", err)
	}
	if got := lines(t, path); len(got) != 1 || got[0] != string(d.Body) {
		t.Fatalf("file: %q", got)
	}
}
