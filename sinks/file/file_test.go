package file_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/file"
	"github.com/leadsync/leadsync/sinks/sinktest"
)

func open(t *testing.T, path string) *file.Sink {
	t.Helper()
	s, err := file.New(file.Config{Name: "archive", Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lines returns the file's lines, failing on a torn last line.
func lines(t *testing.T, path string) []string {
	t.Helper()
	s := read(t, path)
	if s == "" {
		return nil
	}
	if !strings.HasSuffix(s, "\n") {
		t.Fatalf("file does not end in a newline: %q", s[max(0, len(s)-40):])
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// filePeer is the sinktest peer of a file sink: the file itself. It can
// only answer OK.
type filePeer struct {
	t    *testing.T
	path string
}

func (p filePeer) Addr() string           { return p.path }
func (p filePeer) Answer(sinktest.Answer) {}
func (p filePeer) Requests() int          { return len(p.Received()) }
func (p filePeer) Violations() (errs []error) {
	for i, r := range p.Received() {
		if !json.Valid(r.Body) {
			errs = append(errs, fmt.Errorf("line %d is not JSON", i+1))
		}
	}
	return errs
}

func (p filePeer) Received() []sinktest.Received {
	b, err := os.ReadFile(p.path)
	if err != nil || len(b) == 0 {
		return nil
	}
	var out []sinktest.Received
	for line := range strings.Lines(string(b)) {
		out = append(out, sinktest.Received{Body: []byte(strings.TrimSuffix(line, "\n"))})
	}
	return out
}

func TestAcceptance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		NewPeer: func(t *testing.T) sinktest.Peer {
			return filePeer{t, filepath.Join(t.TempDir(), "leads.jsonl")}
		},
		New:     func(t *testing.T, p sinktest.Peer) sinks.Sink { return open(t, p.Addr()) },
		Answers: []sinktest.Answer{}, // a file answers nothing but OK
	})
}

func TestDeliverAppends(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "lib", "leadsync")
	path := filepath.Join(dir, "leads.jsonl")
	s := open(t, path)
	var want []string
	for i := range 3 {
		d := sinktest.Sample(i)
		if err := s.Deliver(t.Context(), d); err != nil {
			t.Fatal(err)
		}
		want = append(want, string(d.Body))
	}
	if got := lines(t, path); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	assertPerm(t, path, 0o640)
	assertPerm(t, dir, 0o750)

	// Reopening appends after what is there.
	_ = s.Close()
	if err := open(t, path).Deliver(t.Context(), sinktest.Sample(9)); err != nil {
		t.Fatal(err)
	}
	if n := len(lines(t, path)); n != 4 {
		t.Errorf("%d lines after reopen, want 4", n)
	}
}

func assertPerm(t *testing.T, path string, most os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if extra := fi.Mode().Perm() &^ most; extra != 0 {
		t.Errorf("%s has mode %v, more than %v", path, fi.Mode().Perm(), most)
	}
}

// syncCounter counts fsyncs and the bytes written before the last one.
type syncCounter struct {
	file.AppendFile
	mu              sync.Mutex
	written, synced int
}

func (c *syncCounter) Write(p []byte) (int, error) {
	n, err := c.AppendFile.Write(p)
	c.mu.Lock()
	c.written += n
	c.mu.Unlock()
	return n, err
}

func (c *syncCounter) Sync() error {
	c.mu.Lock()
	c.synced = c.written
	c.mu.Unlock()
	return c.AppendFile.Sync()
}

func TestDeliverSyncs(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "leads.jsonl"))
	c := &syncCounter{}
	file.WrapFile(s, func(f file.AppendFile) file.AppendFile { c.AppendFile = f; return c })
	for i := range 3 {
		if err := s.Deliver(t.Context(), sinktest.Sample(i)); err != nil {
			t.Fatal(err)
		}
		if c.synced != c.written {
			t.Fatalf("Deliver %d returned with %d of %d bytes not fsync'd", i, c.written-c.synced, c.written)
		}
	}
}

func TestDeliverCompactsMultiLineJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leads.jsonl")
	d := sinktest.Sample(1)
	d.Body = []byte("{\n  \"id\": \"ld_1\",\r\n  \"message\": \"two\\nlines\"\n}\n")
	if err := open(t, path).Deliver(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if got, want := read(t, path), `{"id":"ld_1","message":"two\nlines"}`+"\n"; got != want {
		t.Errorf("file %q, want %q", got, want)
	}
}

func TestDeliverRejectsNonJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leads.jsonl")
	s := open(t, path)
	for _, body := range []string{"", "not json", "{\"a\":\n", `{"a":1} {"b":2}`} {
		d := sinktest.Sample(1)
		d.Body = []byte(body)
		if err := s.Deliver(t.Context(), d); !sinks.IsPermanent(err) {
			t.Errorf("Deliver(%q) = %v, want permanent", body, err)
		}
	}
	if got := read(t, path); got != "" {
		t.Errorf("file holds %q", got)
	}
}

func TestDeliverConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leads.jsonl")
	s := open(t, path)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.Deliver(t.Context(), sinktest.Sample(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := lines(t, path)
	if len(got) != n {
		t.Fatalf("%d lines, want %d", len(got), n)
	}
	seen := map[string]bool{}
	for _, line := range got {
		var l struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("torn or mixed line %q: %v", line, err)
		}
		seen[l.EventID] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct leads, want %d", len(seen), n)
	}
}

func TestOpenCutsTornLine(t *testing.T) {
	whole := `{"id":"ld_1"}` + "\n" + `{"id":"ld_2"}` + "\n"
	big := strings.Repeat("x", 200<<10) // torn line longer than a read block
	cases := map[string]struct{ before, after string }{
		"torn after lines":     {whole + `{"id":"ld_3","per`, whole},
		"torn only line":       {`{"id":"ld_3","per`, ""},
		"torn long line":       {whole + `{"m":"` + big, whole},
		"long lines then torn": {whole + big + "\n" + "{", whole + big + "\n"},
		"whole":                {whole, whole},
		"empty":                {"", ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "leads.jsonl")
			if err := os.WriteFile(path, []byte(c.before), 0o640); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			s, err := file.New(file.Config{Name: "archive", Path: path, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := read(t, path); got != c.after {
				t.Fatalf("after open: %d bytes, want %d", len(got), len(c.after))
			}
			if warned := strings.Contains(logs.String(), "level=WARN"); warned != (c.before != c.after) {
				t.Errorf("warned %v; log: %s", warned, logs.String())
			}
			if strings.Contains(logs.String(), "ld_3") {
				t.Error("the torn line's content was logged")
			}
			if err := s.Deliver(t.Context(), sinktest.Sample(1)); err != nil {
				t.Fatal(err)
			}
			if got := lines(t, path); len(got) != strings.Count(c.after, "\n")+1 {
				t.Errorf("%d lines after a delivery", len(got))
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "plain")
	if err := os.WriteFile(notDir, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"empty":             "",
		"parent is a file":  filepath.Join(notDir, "leads.jsonl"),
		"path is a dir":     dir,
		"not a normal file": os.DevNull,
	} {
		if _, err := file.New(file.Config{Path: path}); err == nil || !strings.HasPrefix(err.Error(), "path: ") {
			t.Errorf("%s: New = %v, want a path: error", name, err)
		}
	}
}

func TestNewReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes to read-only directories")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o550); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o750) })
	// Access rights may be fixed while the daemon runs: the sink starts
	// down and its deliveries fail, retryable, until then.
	s, err := file.New(file.Config{Path: filepath.Join(dir, "leads.jsonl"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("New in a read-only directory: %v, want a sink that waits", err)
	}
	defer s.Close()
	if err := s.Deliver(t.Context(), sinktest.Sample(1)); err == nil || sinks.IsPermanent(err) {
		t.Fatalf("Deliver into a read-only directory = %v, want a retryable error", err)
	}
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(t.Context(), sinktest.Sample(1)); err != nil {
		t.Fatalf("Deliver once writable: %v", err)
	}
}

func TestDeliverAfterClose(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "leads.jsonl"))
	_ = s.Close()
	if err := s.Deliver(t.Context(), sinktest.Sample(1)); err == nil || sinks.IsPermanent(err) {
		t.Errorf("Deliver after Close = %v, want a retryable error", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestDeliverCanceled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leads.jsonl")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := open(t, path).Deliver(ctx, sinktest.Sample(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Deliver = %v, want context.Canceled", err)
	}
	if got := read(t, path); got != "" {
		t.Errorf("file holds %q", got)
	}
}

// TestDeliverFollowsTheMovedOrRemovedFile: a file moved away (rotation) or
// deleted while the sink has it open is not written to any more — a line
// in a deleted file is a lost lead — but a new file at the path is.
func TestDeliverFollowsTheMovedOrRemovedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "leads.jsonl")
	s := open(t, path)
	deliver := func(i int) string {
		t.Helper()
		d := sinktest.Sample(i)
		if err := s.Deliver(t.Context(), d); err != nil {
			t.Fatal(err)
		}
		return string(d.Body)
	}
	first := deliver(1)
	rotated := filepath.Join(dir, "leads.jsonl.1")
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	// Nothing at the path yet: erase has nothing to do there (it failed).
	if n, err := s.Erase(func([]byte) bool { return true }); n != 0 || err != nil {
		t.Fatalf("Erase with the file moved away = %d, %v; want 0, nil", n, err)
	}
	second := deliver(2)
	if got := lines(t, rotated); len(got) != 1 || got[0] != first {
		t.Errorf("rotated file: %q, want the first line only", got)
	}
	if got := lines(t, path); len(got) != 1 || got[0] != second {
		t.Errorf("new file after rotation: %q, want the second line", got)
	}
	assertPerm(t, path, 0o640)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	third := deliver(3)
	if got := lines(t, path); len(got) != 1 || got[0] != third {
		t.Errorf("file after removal: %q, want the third line", got)
	}
	fourth := deliver(4)
	if got := lines(t, path); len(got) != 2 || got[1] != fourth {
		t.Errorf("file: %q, want the third and fourth lines", got)
	}
}
