package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/sync/lead"
)

func newBuf(o Options) (*slog.Logger, *slog.LevelVar, *bytes.Buffer) {
	var b bytes.Buffer
	o.Out = &b
	l, lv := New(o)
	return l, lv, &b
}

func lines(b *bytes.Buffer) []string {
	return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
}

var clock = regexp.MustCompile(`\d\d:\d\d:\d\d`)

func TestJSONParses(t *testing.T) {
	l, _, b := newBuf(Options{Format: "json", Journal: true, IsTTY: true})
	l.Info("lead accepted", "event_id", "ev_1", "attempt", 2)
	l.Warn("sink slow", slog.Group("sink", "name", "crm"))
	for _, line := range lines(b) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		if m["time"] == nil || m["level"] == nil || m["msg"] == nil {
			t.Errorf("missing built-in keys: %q", line)
		}
	}
}

func TestJournalLines(t *testing.T) {
	l, _, b := newBuf(Options{Level: "debug", Journal: true, Redact: true})
	l.Debug("d", "k", "v")
	l.Info("i", "k", "a\nb")
	l.Warn("w")
	l.Error("e\nsecond line")
	l.Log(context.Background(), slog.LevelInfo+2, "x")
	want := []string{"<7>DBG d", "<6>INF i", "<4>WRN w", "<3>ERR ", "<6>INFO+2 x"}
	got := lines(b)
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want), b)
	}
	for i, line := range got {
		if !strings.HasPrefix(line, want[i]) {
			t.Errorf("line %d = %q, want prefix %q", i, line, want[i])
		}
		if strings.Contains(line, "\x1b") || clock.MatchString(line) {
			t.Errorf("line %d has colour or time: %q", i, line)
		}
	}
}

func TestTTYHasColour(t *testing.T) {
	l, _, b := newBuf(Options{IsTTY: true})
	l.Info("hello", "k", "v")
	if !strings.Contains(b.String(), "\x1b[") {
		t.Errorf("no ANSI escapes on a TTY: %q", b)
	}
}

func TestPlainText(t *testing.T) {
	for _, o := range []Options{{}, {Format: "text", IsTTY: true}, {Format: "text", Journal: true}} {
		l, _, b := newBuf(o)
		l.Info("hello", "k", "v")
		s := b.String()
		if strings.Contains(s, "\x1b") || strings.HasPrefix(s, "<") || !clock.MatchString(s) ||
			!strings.Contains(s, "INF hello k=v") {
			t.Errorf("%+v: want uncoloured, time-stamped text, got %q", o, s)
		}
	}
}

// record logs one line as JSON and returns it decoded.
func record(t *testing.T, l *slog.Logger, b *bytes.Buffer, args ...any) map[string]any {
	t.Helper()
	b.Reset()
	l.Info("m", args...)
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	return m
}

type person struct{ email string }

func (p person) LogValue() slog.Value {
	return slog.GroupValue(slog.String("email", p.email), slog.String("lead_id", "ld_1"))
}

func TestRedaction(t *testing.T) {
	l, _, b := newBuf(Options{Format: "json", Redact: true})
	name := "John"
	m := record(t, l, b,
		"event_id", "ev_1", "email", "john@example.com",
		slog.Group("a", slog.Group("b", "phone", "0701", "sink", "crm",
			slog.Group("", "first_name", "John"))),
		slog.Group("address", "city", "Testköping"),
		"buyer", person{"x@example.com"},
		"who", &lead.Person{FirstName: &name},
	)
	want := map[string]any{
		"event_id": "ev_1", "email": Redacted,
		"a":       map[string]any{"b": map[string]any{"phone": Redacted, "sink": "crm", "first_name": Redacted}},
		"address": Redacted,
		"buyer":   map[string]any{"email": Redacted, "lead_id": "ld_1"},
		"who":     Redacted,
	}
	for k, v := range want {
		if g, _ := json.Marshal(m[k]); string(g) != mustJSON(v) {
			t.Errorf("%s = %s, want %s", k, g, mustJSON(v))
		}
	}
	if strings.Contains(b.String(), "example.com") || strings.Contains(b.String(), "John") {
		t.Errorf("personal data leaked: %s", b)
	}
}

func mustJSON(v any) string { j, _ := json.Marshal(v); return string(j) }

func TestRedactionWithAttrsAndGroups(t *testing.T) {
	l, _, b := newBuf(Options{Format: "json", Redact: true})
	l = l.With("lead_id", "ld_1", "full_name", "John Doe", slog.Group("g", "message", "hi"))
	m := record(t, l.WithGroup("person"), b, "city", "X", "email", "e@x")
	if m["lead_id"] != "ld_1" || m["full_name"] != Redacted || mustJSON(m["g"]) != `{"message":"[redacted]"}` {
		t.Errorf("With attrs: %s", b)
	}
	if mustJSON(m["person"]) != `{"city":"[redacted]","email":"[redacted]"}` {
		t.Errorf("WithGroup(person): %s", b)
	}
	m = record(t, l.WithGroup("person").With("street", "s", "postal_code", "123"), b)
	if mustJSON(m["person"]) != `{"postal_code":"[redacted]","street":"[redacted]"}` {
		t.Errorf("With under WithGroup(person): %s", b)
	}
	m = record(t, l.WithGroup("req").With("request_id", "r1"), b, "name", "n")
	if mustJSON(m["req"]) != `{"name":"[redacted]","request_id":"r1"}` {
		t.Errorf("WithGroup(req): %s", b)
	}
}

func TestRedactionOffOnlyAtDebug(t *testing.T) {
	for _, tc := range []struct {
		level  string
		redact bool
		masked bool
	}{
		{"debug", false, false},
		{"debug", true, true},
		{"info", false, true},
		{"info", true, true},
	} {
		l, _, b := newBuf(Options{Format: "json", Level: tc.level, Redact: tc.redact})
		if got := record(t, l, b, "email", "e@x")["email"] == Redacted; got != tc.masked {
			t.Errorf("level %s redact %v: masked = %v, want %v", tc.level, tc.redact, got, tc.masked)
		}
	}

	// A logger narrowed while at debug masks again once the level is raised.
	l, lv, b := newBuf(Options{Format: "json", Level: "debug"})
	l = l.With("phone", "0701")
	if m := record(t, l, b, "email", "e@x"); m["phone"] != "0701" || m["email"] != "e@x" {
		t.Errorf("debug, redact off: %s", b)
	}
	lv.Set(slog.LevelInfo)
	if m := record(t, l, b, "email", "e@x"); m["phone"] != Redacted || m["email"] != Redacted {
		t.Errorf("back at info: %s", b)
	}
}

func TestLevelVar(t *testing.T) {
	l, lv, b := newBuf(Options{Format: "json", Level: "warn"})
	l.Info("dropped")
	if b.Len() != 0 {
		t.Fatalf("info logged at warn: %s", b)
	}
	lv.Set(slog.LevelDebug)
	l.With("sink", "crm").Debug("kept")
	if !strings.Contains(b.String(), `"msg":"kept"`) {
		t.Fatalf("debug not logged after Set: %q", b)
	}
}

func TestParseLevel(t *testing.T) {
	for s, want := range map[string]slog.Level{"": slog.LevelInfo, "debug": slog.LevelDebug,
		"info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		if l, err := ParseLevel(s); err != nil || l != want {
			t.Errorf("ParseLevel(%q) = %v, %v", s, l, err)
		}
	}
	if _, err := ParseLevel("verbose"); err == nil {
		t.Error("ParseLevel(verbose): no error")
	}
	if _, lv := New(Options{Level: "verbose", Out: &bytes.Buffer{}}); lv.Level() != slog.LevelInfo {
		t.Errorf("bad level: got %v, want info", lv.Level())
	}
}

// TestNoAllocWhenNothingToMask holds the wrapper to zero allocations beyond
// what the wrapped handler makes itself.
func TestNoAllocWhenNothingToMask(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	var lv slog.LevelVar
	inner := slog.NewJSONHandler(&discard{}, &slog.HandlerOptions{Level: &lv})
	h := newRedactor(inner, &lv, true)
	ctx := context.Background()
	r := slog.NewRecord(time.Time{}, slog.LevelInfo, "m", 0)
	r.AddAttrs(slog.String("event_id", "ev_1"), slog.Int("attempt", 3),
		slog.Group("sink", slog.String("sink", "crm"), slog.String("lead_id", "ld_1")))
	base := testing.AllocsPerRun(100, func() { _ = inner.Handle(ctx, r) })
	got := testing.AllocsPerRun(100, func() { _ = h.Handle(ctx, r) })
	if got > base {
		t.Errorf("redactor allocs = %v, handler alone = %v", got, base)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestDiscard(t *testing.T) {
	l := Discard()
	if l.Enabled(context.Background(), slog.LevelError) {
		t.Error("Discard is enabled")
	}
	l.Error("nothing")
}
