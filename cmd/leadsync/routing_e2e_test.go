package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRoutingEndToEnd: a hemnet lead reaches the three sinks that match
// hemnet (two signed webhooks and a file), each exactly once, and not the
// sandbox sink; a Reapit sandbox (test) lead reaches only the sandbox sink,
// which asks for test leads from reapit. status ends with nothing pending.
func TestRoutingEndToEnd(t *testing.T) {
	dir := t.TempDir()
	rec1, srv1 := newReceiver()
	defer srv1.Close()
	rec2, srv2 := newReceiver()
	defer srv2.Close()
	addr := freePort(t)
	archive := filepath.Join(dir, "archive.jsonl")
	sandbox := filepath.Join(dir, "sandbox.jsonl")
	cfg := filepath.Join(dir, "leadsync.yaml")
	fast := "delivery: {timeout: 5s, backoff: {initial: 20ms, max: 200ms}}"
	conf := fmt.Sprintf(`listen: %[1]s
state_dir: %[2]s
admin_socket: %[3]s
log: {level: info, format: json}
drain: 5s
sources:
  - name: hemnet
    provider: hemnet
    keys: [%[4]s]
  - name: reapit
    provider: reapit
    signature: legacy
    client_id: e2e-routing-reapit-client
sinks:
  - name: crm
    type: webhook
    url: %[5]s
    secret: %[6]s
    match: {sources: [hemnet]}
    %[9]s
  - name: archive
    type: file
    path: %[7]s
    match: {sources: [hemnet]}
  - name: crm2
    type: webhook
    url: %[8]s
    secret: %[6]s
    match: {providers: [hemnet]}
    %[9]s
  - name: sandbox
    type: file
    path: %[10]s
    match: {test: true, sources: [reapit]}
`, addr, filepath.Join(dir, "state"), filepath.Join(dir, "admin.sock"), e2eKey, srv1.URL, e2eSecret,
		archive, srv2.URL, fast, sandbox)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg, addr)

	settled := func() e2eStatus {
		t.Helper()
		var st e2eStatus
		pollUntil(t, d, 10*time.Second, "deliveries still pending", func() bool {
			st = statusJSON(t, dir, cfg)
			pending := 0
			for _, s := range st.Sinks {
				pending += s.Pending
			}
			return len(st.Sinks) == 4 && pending == 0
		})
		for _, s := range st.Sinks {
			if s.Dead != 0 {
				t.Errorf("sink %s has %d dead letters", s.Name, s.Dead)
			}
		}
		return st
	}
	// exactlyOnce checks that rec got entity id, and nothing else, once.
	exactlyOnce := func(name string, rec *receiver, id string) {
		t.Helper()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.contacts) != 1 || rec.contacts[id] == "" {
			t.Errorf("sink %s received entities %v, want only %s", name, rec.contacts, id)
		}
		for wid, n := range rec.byID {
			if n != 1 {
				t.Errorf("sink %s received delivery %s %d times", name, wid, n)
			}
		}
		if len(rec.byID) != 1 {
			t.Errorf("sink %s received %d deliveries, want 1", name, len(rec.byID))
		}
		if rec.badSig.Load() != 0 {
			t.Errorf("sink %s: %d deliveries failed signature verification", name, rec.badSig.Load())
		}
	}
	fileHolds := func(name, path, id string) {
		t.Helper()
		got := leadsInFile(t, path)
		if len(got) != 1 || got[0].Source.EntityID != id {
			t.Errorf("sink %s holds %v, want only %s", name, got, id)
		}
	}

	// A hemnet lead: crm, archive, crm2; not sandbox.
	const hemnetID = "routing-hemnet-1"
	if code, err := sendSample("http://"+addr+"/webhooks/hemnet", hemnetID); err != nil || code != 200 {
		t.Fatalf("post hemnet: %d %v", code, err)
	}
	pollUntil(t, d, 10*time.Second, "the hemnet lead did not reach crm, crm2 and archive", func() bool {
		return rec1.has(map[string]bool{hemnetID: true}) == 0 && rec2.has(map[string]bool{hemnetID: true}) == 0 &&
			len(leadsInFile(t, archive)) == 1
	})
	settled()
	exactlyOnce("crm", rec1, hemnetID)
	exactlyOnce("crm2", rec2, hemnetID)
	fileHolds("archive", archive, hemnetID)
	if got := leadsInFile(t, sandbox); len(got) != 0 {
		t.Errorf("sandbox got %d leads from hemnet", len(got))
	}

	// A Reapit sandbox lead (customer SBOX, test: true): only sandbox.
	out, code := runCLI(t, dir, nil, "send-test", "reapit", "--config", cfg)
	if code != 0 || !strings.Contains(out, `"accepted"`) {
		t.Fatalf("send-test reapit: exit %d:\n%s\n%s", code, out, tail(d.logs.String()))
	}
	var got []jsonlLead
	pollUntil(t, d, 10*time.Second, "the reapit test lead did not reach sandbox", func() bool {
		got = leadsInFile(t, sandbox)
		return len(got) > 0
	})
	if len(got) != 1 || got[0].Source.Provider != "reapit" || !got[0].Test {
		t.Errorf("sandbox holds %v, want one reapit test lead", got)
	}
	st := settled()
	exactlyOnce("crm", rec1, hemnetID)
	exactlyOnce("crm2", rec2, hemnetID)
	fileHolds("archive", archive, hemnetID)
	fileHolds("sandbox", sandbox, got[0].Source.EntityID)
	accepted := map[string]int64{}
	for _, s := range st.Sources {
		accepted[s.Name] = s.Accepted
	}
	if accepted["hemnet"] != 1 || accepted["reapit"] != 1 {
		t.Errorf("status accepted = %v, want hemnet 1, reapit 1", accepted)
	}
	d.stop()
}
