package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadsync/leadsync/state/statetest"
)

// TestWarnsUnwritableFileSink: check warns of a file sink whose file this
// user could not write or create (here on a read-only file system, which
// even root cannot write), without creating anything; a writable one, new
// or existing, gets no warning.
func TestWarnsUnwritableFileSink(t *testing.T) {
	ok := t.TempDir()
	if err := os.WriteFile(filepath.Join(ok, "old.jsonl"), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(ok, "old.jsonl"), filepath.Join(ok, "new", "dir", "leads.jsonl")} {
		if got := unwritable(p); got != "" {
			t.Errorf("unwritable(%s) = %q, want \"\"", p, got)
		}
	}
	if _, err := os.Stat(filepath.Join(ok, "new")); err == nil {
		t.Error("the check created a directory")
	}
	ro, remount := statetest.Tmpfs(t, "1m") // skips unless root
	if err := os.WriteFile(filepath.Join(ro, "old.jsonl"), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	remount(true)
	if got := unwritable(filepath.Join(ro, "old.jsonl")); !strings.Contains(got, "is not writable") {
		t.Errorf("existing file on a read-only file system: %q", got)
	}
	if got := unwritable(filepath.Join(ro, "sub", "leads.jsonl")); !strings.Contains(got, "cannot create it: "+ro+" is not writable") {
		t.Errorf("new file on a read-only file system: %q", got)
	}
	cfg := &Config{Sinks: []Sink{{Name: "archive", Type: SinkFile, Path: filepath.Join(ro, "leads.jsonl")}}}
	var found bool
	for _, w := range cfg.Warnings() {
		found = found || strings.HasPrefix(w, "sinks[0].path: cannot create it: ")
	}
	if !found {
		t.Errorf("Warnings = %q, want one about sinks[0].path", cfg.Warnings())
	}
}
