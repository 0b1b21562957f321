package main_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/state"
)

func runCLI(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		t.Fatalf("%v: %v", args, err)
	}
	return string(out), 0
}

func TestCheckPrintsEveryErrorWithItsLine(t *testing.T) {
	dir := t.TempDir()
	bad := `listen: 127.0.0.1:8080
sources:
  - name: hemnet
    provider: hemnet
    keys: []
    colour: blue
sinks:
  - name: crm
    type: webhook
    url: ftp://example.com
    secret: not-a-whsec
`
	path := filepath.Join(dir, "bad.yaml")
	os.WriteFile(path, []byte(bad), 0o600)
	out, code := runCLI(t, dir, nil, "check", "--config", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{
		path + ":5: sources[0].keys:",
		path + ":6: sources[0].colour:",
		path + ":10: sinks[0].url:",
		path + ":11: sinks[0].secret:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// The providers' and sinks' own checks, which run once the file is
	// otherwise valid, are printed the same way, each at its line. A generic
	// source with no timestamp in its signature gets no clock window (it
	// used to be refused for the default max_clock_skew it never wrote).
	own := `sources:
  - name: site
    provider: generic
    signature: {header: X-Sig, secret: abc}
    event_id: /id
    fields:
      emale: /email
sinks:
  - name: sf
    type: salesforce
    instance_url: https://agency.my.salesforce.com
    client_id: a
    client_secret: b
    external_id_field: "bad field!"
`
	os.WriteFile(path, []byte(own), 0o600)
	out, code = runCLI(t, dir, nil, "check", "--config", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{
		path + ":7: sources[0].fields.emale: unknown field",
		path + `:14: sinks[0].external_id_field: "bad field!" is not a Salesforce API name`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "max_clock_skew") {
		t.Errorf("a generic source without a timestamp is refused for a clock window it never asked for:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("%d lines, want the 2 problems:\n%s", n, out)
	}
	// serve refuses the same file the same way.
	if sout, code := runCLI(t, dir, []string{"STATE_DIRECTORY=" + filepath.Join(dir, "state")}, "serve", "--config", path); code != 1 ||
		!strings.Contains(sout, path+":7: sources[0].fields.emale: unknown field") {
		t.Errorf("serve of that file: exit %d, want 1 with the located problems:\n%s", code, sout)
	}

	good := filepath.Join(dir, "good.yaml")
	writeConfigTo(t, good, dir)
	if out, code := runCLI(t, dir, nil, "check", "--config", good); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("good config: exit %d:\n%s", code, out)
	}
	if out, code := runCLI(t, dir, []string{"LEADSYNC_CONFIG=" + good}, "check"); code != 0 {
		t.Fatalf("LEADSYNC_CONFIG: exit %d:\n%s", code, out)
	}
}

func writeConfigTo(t *testing.T, path, dir string) {
	t.Helper()
	p := writeConfig(t, dir, "127.0.0.1:0", "http://127.0.0.1:9/hook", "")
	if p != path {
		os.Rename(p, path)
	}
}

func TestHelpAndVersion(t *testing.T) {
	out, code := runCLI(t, t.TempDir(), nil, "--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, c := range []string{"serve", "check", "send-test", "version"} {
		if !strings.Contains(out, c) {
			t.Errorf("--help lacks %q:\n%s", c, out)
		}
	}
	out, code = runCLI(t, t.TempDir(), nil, "version")
	if code != 0 || !strings.HasPrefix(out, "leadsync ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: exit %d: %s", code, out)
	}
	if flag, code := runCLI(t, t.TempDir(), nil, "--version"); code != 0 || flag != out {
		t.Fatalf("--version: exit %d: %q, want %q", code, flag, out)
	}
}

// TestDemoAndSendTest is the README's quick start: serve with no config
// file, send-test hemnet, and the lead is in leadsync-data/leads.jsonl.
func TestDemoAndSendTest(t *testing.T) {
	if _, err := os.Stat("/etc/leadsync/leadsync.yaml"); err == nil {
		t.Skip("/etc/leadsync/leadsync.yaml exists: the demo would not run")
	}
	if ln, err := net.Listen("tcp", "127.0.0.1:8080"); err != nil {
		t.Skip("127.0.0.1:8080 is busy: ", err)
	} else {
		ln.Close()
	}
	dir := t.TempDir()
	env := []string{"LEADSYNC_CONFIG=", "STATE_DIRECTORY=", "RUNTIME_DIRECTORY="}
	d := &daemon{t: t, logs: &syncBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(binPath, "serve")
	d.cmd.Dir = dir
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.exited) }()
	defer d.kill()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(d.logs.String(), "ready") {
		if time.Now().After(deadline) {
			t.Fatalf("demo not ready:\n%s", d.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(strings.ToLower(d.logs.String()), "demo") {
		t.Errorf("no demo warning in the logs:\n%s", d.logs)
	}
	out, code := runCLI(t, dir, env, "send-test", "hemnet")
	if code != 0 || !strings.Contains(out, "200") || !strings.Contains(out, `"accepted"`) {
		t.Fatalf("send-test: exit %d:\n%s", code, out)
	}
	file := filepath.Join(dir, "leadsync-data", "leads.jsonl")
	for {
		b, _ := os.ReadFile(file)
		if strings.Contains(string(b), `"schema":"leadsync.lead/v1"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no lead in %s:\n%s", file, d.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.stop()
}

// TestSinkOutageAndDeadLetter: the CRM answers 503 for a while, then 200:
// every lead arrives. Then it answers 400: the lead goes to the dead letters.
func TestSinkOutageAndDeadLetter(t *testing.T) {
	dir := t.TempDir()
	rec, srv := newReceiver()
	defer srv.Close()
	rec.answer.Store(503)
	addr := freePort(t)
	cfg := writeConfig(t, dir, addr, srv.URL, "")
	d := startDaemon(t, cfg, addr)
	url := "http://" + addr + "/webhooks/hemnet"
	want := map[string]bool{}
	for i := range 30 {
		id := "outage-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		want[id] = true
		if code, err := sendSample(url, id); err != nil || code != 200 {
			t.Fatalf("post: %d %v", code, err)
		}
	}
	time.Sleep(300 * time.Millisecond) // several failed attempts
	if rec.has(want) != len(want) {
		t.Fatal("deliveries succeeded during the outage")
	}
	rec.answer.Store(0)
	deadline := time.Now().Add(20 * time.Second)
	for rec.has(want) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d leads missing after the outage ended\n%s", rec.has(want), tail(d.logs.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	rec.answer.Store(400)
	if code, err := sendSample(url, "rejected-one"); err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	for !strings.Contains(d.logs.String(), "dead letters") {
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter logged\n%s", tail(d.logs.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.stop()
	st, err := state.Open(filepath.Join(dir, "state"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dl, err := st.DeadLetters("crm")
	if err != nil || len(dl) != 1 || dl[0].Status != 400 {
		t.Fatalf("dead letters = %+v, %v; want one with status 400", dl, err)
	}
}

func sendSample(url, id string) (int, error) {
	return send(url, hemnetSample(id))
}

// TestExplainIsADryRun maps a Hemnet payload with the config and shows, per
// sink, whether the lead goes there and what would be sent, creating nothing.
func TestExplainIsADryRun(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "leadsync.yaml")
	os.WriteFile(cfg, []byte(`state_dir: `+filepath.Join(dir, "state")+`
sources:
  - {name: hemnet, provider: hemnet, keys: [k]}
sinks:
  - {name: agents, type: email, host: 127.0.0.1, port: 2525, tls: none, from: leads@agency.example, to: [office@agency.example]}
  - {name: deletions, type: webhook, url: "http://127.0.0.1:9/x", secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, match: {actions: [deleted]}}
  - {name: archive, type: file, path: `+filepath.Join(dir, "never.jsonl")+`}
`), 0o600)
	payload := filepath.Join(dir, "payload.json")
	os.WriteFile(payload, hemnetSample("explain-1"), 0o600)
	out, code := runCLI(t, dir, nil, "explain", "--config", cfg, "--source", "hemnet", payload)
	if code != 0 {
		t.Fatalf("explain: exit %d:\n%s", code, out)
	}
	for _, want := range []string{"event 1: accepted", `"entity_id": "explain-1"`, "sink agents (email): would send",
		"Message-ID: <msg_preview@leadsync>", "sink deletions (webhook): not matched", "sink archive (file): would send"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "never.jsonl")); !os.IsNotExist(err) {
		t.Errorf("explain created the file sink's file")
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); !os.IsNotExist(err) {
		t.Errorf("explain created the state dir")
	}
}

// A generic source whose event id is a header (Standard Webhooks) can be
// explained from a body alone: the dry run supplies the headers.
func TestExplainGenericFromBodyAlone(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "leadsync.yaml")
	os.WriteFile(cfg, []byte(`state_dir: `+filepath.Join(dir, "state")+`
sources:
  - name: site
    provider: generic
    signature: {scheme: standard-webhooks, secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}
    fields: {email: /data/email, first_name: /data/name}
`), 0o600)
	body := filepath.Join(dir, "body.json")
	os.WriteFile(body, []byte(`{"type":"user.registered","data":{"email":"ann@example.com","name":"Ann"}}`), 0o600)
	out, code := runCLI(t, dir, nil, "explain", "--config", cfg, "--source", "site", body)
	if code != 0 || !strings.Contains(out, "event 1: accepted") || !strings.Contains(out, `"first_name": "Ann"`) {
		t.Fatalf("explain: exit %d:\n%s", code, out)
	}
}

// reconcile of a source that polls every customer, before any customer sent
// a webhook: nothing to poll, said so; --json prints an empty list.
func TestReconcileWithNoCustomerYet(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "leadsync.yaml")
	if err := os.WriteFile(cfg, []byte(`state_dir: `+filepath.Join(dir, "state")+`
sources:
  - name: reapit
    provider: reapit
    signature: legacy
    client_id: id
    client_secret: secret
    api_url: http://127.0.0.1:9
    token_url: http://127.0.0.1:9/token
    reconcile: {schedule: "@every 15m"}
sinks: [{name: f, type: file, path: `+filepath.Join(dir, "leads.jsonl")+`}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := runCLI(t, dir, nil, "reconcile", "--json", "--config", cfg); code != 0 || !strings.HasSuffix(out, "\n[]\n") {
		t.Fatalf("reconcile --json: %d %q", code, out)
	}
	if out, code := runCLI(t, dir, nil, "reconcile", "--config", cfg); code != 0 || !strings.Contains(out, "no customer to poll") {
		t.Fatalf("reconcile: %d %q", code, out)
	}
}
