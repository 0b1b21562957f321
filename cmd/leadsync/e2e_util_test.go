package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"
)

// Helpers shared by notify_test.go, providers_e2e_test.go and
// routing_e2e_test.go.

// pollUntil calls cond every 20ms until it returns true, and fails t with
// what (and the daemon's last log lines, when d is not nil) after timeout.
func pollUntil(t *testing.T, d *daemon, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			if d != nil {
				t.Fatalf("after %s: %s\n%s", timeout, what, tail(d.logs.String()))
			}
			t.Fatalf("after %s: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jsonlLead is the part of a lead the tests look at, with the raw line.
type jsonlLead struct {
	Raw    []byte `json:"-"`
	ID     string `json:"id"`
	Test   bool   `json:"test"`
	Source struct {
		Name     string `json:"name"`
		Provider string `json:"provider"`
		EntityID string `json:"entity_id"`
	} `json:"source"`
}

func (l jsonlLead) String() string {
	return fmt.Sprintf("%s(%s)/%s test=%v", l.Source.Name, l.Source.Provider, l.Source.EntityID, l.Test)
}

// leadsInFile returns the leads of a file sink's JSONL file (none when it
// does not exist yet). Every line must be whole JSON.
func leadsInFile(t *testing.T, path string) []jsonlLead {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	// A line being written has no newline yet: leave it for the next look.
	lines := bytes.Split(b, []byte("\n"))
	lines = lines[:len(lines)-1]
	var out []jsonlLead
	for i, line := range lines {
		var l jsonlLead
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("line %d of %s is not whole JSON: %v\n%s", i+1, path, err, line)
		}
		l.Raw = append([]byte(nil), line...)
		out = append(out, l)
	}
	return out
}

// e2eStatus is what the tests read of `leadsync status --json`.
type e2eStatus struct {
	Running bool `json:"running"`
	Sources []struct {
		Name     string `json:"name"`
		Provider string `json:"provider"`
		Accepted int64  `json:"accepted"`
		Rejected int64  `json:"rejected"`
	} `json:"sources"`
	Sinks []struct {
		Name       string `json:"name"`
		Type       string `json:"type"`
		Configured bool   `json:"configured"`
		Pending    int    `json:"pending"`
		Dead       int    `json:"dead"`
	} `json:"sinks"`
}

// statusJSON runs `leadsync status --json --config cfg`.
func statusJSON(t *testing.T, dir, cfg string) e2eStatus {
	t.Helper()
	out, code := runCLI(t, dir, nil, "status", "--json", "--config", cfg)
	if code != 0 {
		t.Fatalf("status --json: exit %d:\n%s", code, out)
	}
	var st e2eStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, out)
	}
	return st
}
