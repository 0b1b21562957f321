package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOperatorCommands drives status, dlq, replay, erase and compact as an
// operator would: against the running daemon (admin socket), then against
// its store once it is stopped.
func TestOperatorCommands(t *testing.T) {
	dir := t.TempDir()
	rec, srv := newReceiver()
	defer srv.Close()
	rec.answer.Store(422) // the CRM refuses: dead letters
	addr := freePort(t)
	cfg := writeConfig(t, dir, addr, srv.URL, "")
	d := startDaemon(t, cfg, addr)
	cli := func(args ...string) (string, int) {
		t.Helper()
		return runCLI(t, dir, nil, append(args, "--config", cfg)...)
	}
	url := "http://" + addr + "/webhooks/hemnet"
	for _, id := range []string{"op-1", "op-2"} {
		if code, err := sendSample(url, id); err != nil || code != 200 {
			t.Fatalf("post: %d %v", code, err)
		}
	}
	var dead []struct {
		ID, Sink, Reason string
		Status           int
	}
	for deadline := time.Now().Add(10 * time.Second); len(dead) < 2; time.Sleep(20 * time.Millisecond) {
		out, code := cli("dlq", "list", "--json")
		if code != 0 {
			t.Fatalf("dlq list: %d %s", code, out)
		}
		json.Unmarshal([]byte(out), &dead)
		if time.Now().After(deadline) {
			t.Fatalf("dead letters: %s", out)
		}
	}
	if dead[0].Sink != "crm" || dead[0].Status != 422 {
		t.Fatalf("dead letter = %+v", dead[0])
	}
	out, code := cli("status", "--json")
	var st struct {
		Running bool
		Sources []struct {
			Name     string
			Accepted int
		}
		Sinks []struct {
			Name       string
			Dead       int
			Configured bool
		}
	}
	// Every sink of the config shows as configured, the daemon running or
	// not (stopped, status reads the config file for what the store lacks).
	configured := func(out string) {
		t.Helper()
		n := 0
		for _, k := range st.Sinks {
			if !k.Configured {
				t.Errorf("sink %s not configured in %s", k.Name, out)
			}
			n++
		}
		if n < 2 {
			t.Errorf("status lists %d sinks, want crm and archive: %s", n, out)
		}
	}
	if json.Unmarshal([]byte(out), &st); code != 0 || !st.Running || st.Sources[0].Accepted != 2 {
		t.Fatalf("status: %d %s", code, out)
	}
	configured(out)
	if out, code := cli("status"); code != 0 || !strings.Contains(out, "SINK") || !strings.Contains(out, "crm") {
		t.Fatalf("status table: %d %s", code, out)
	}
	if out, code := cli("dlq", "show", dead[0].ID); code != 0 || !strings.Contains(out, "422") {
		t.Fatalf("dlq show: %d %s", code, out)
	}
	if out, code := cli("dlq", "show", "msg_nope"); code == 0 {
		t.Fatalf("dlq show of an unknown id succeeded: %s", out)
	}
	// A misspelt --sink is an error naming the sinks, not "no dead letters".
	for _, args := range [][]string{{"dlq", "list", "--sink", "crn"}, {"dlq", "retry", "--all", "--sink", "crn"}, {"dlq", "drop", "--all", "--sink", "crn"}} {
		if out, code := cli(args...); code != 1 || !strings.Contains(out, `--sink "crn": no such sink (the sinks are `) || !strings.Contains(out, "crm") {
			t.Fatalf("%v: %d %s", args, code, out)
		}
	}
	if out, code := cli("dlq", "list", "--sink", "crm", "--json"); code != 0 || !strings.Contains(out, dead[0].ID) {
		t.Fatalf("dlq list --sink crm: %d %s", code, out)
	}
	rec.answer.Store(0)
	if out, code := cli("dlq", "retry", dead[0].ID); code != 0 || !strings.Contains(out, "1 dead letters queued again") {
		t.Fatalf("dlq retry: %d %s", code, out)
	}
	if out, code := cli("dlq", "drop", dead[1].ID); code != 0 || !strings.Contains(out, "1 dead letters dropped") {
		t.Fatalf("dlq drop: %d %s", code, out)
	}
	for deadline := time.Now().Add(10 * time.Second); rec.has(map[string]bool{"op-1": true})+rec.has(map[string]bool{"op-2": true}) > 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("retried dead letter never arrived")
		}
	}
	if out, code := cli("replay", "--since", "1h", "--source", "hemnett"); code != 1 || !strings.Contains(out, `no source "hemnett" is configured`) {
		t.Fatalf("replay of a source the config lacks: %d %s", code, out)
	}
	if out, code := cli("replay", "ev_nope"); code != 1 || strings.Count(out, "ev_nope") != 1 || !strings.Contains(out, "not found") {
		t.Fatalf("replay of an unknown event: %d %s", code, out)
	}
	if out, code := cli("replay", "--since", "1h"); code != 0 || !strings.Contains(out, "unchanged") {
		t.Fatalf("replay: %d %s", code, out)
	}
	if out, code := cli("reconcile"); code == 0 || !strings.Contains(out, "no source can be polled") {
		t.Fatalf("reconcile without a pollable source: %d %s", code, out)
	}
	// Erase while running: the store and the file sink forget the person.
	out, code = cli("erase", "--email", "john.doe@example.com")
	if code != 0 || !strings.Contains(out, "leads") || !strings.Contains(out, "sink archive") {
		t.Fatalf("erase: %d %s", code, out)
	}
	d.stop()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, "leadsync") {
			return nil
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte("john.doe@example.com")) || bytes.Contains(b, []byte("070111222333")) {
			t.Errorf("%s still holds the erased person", p)
		}
		return nil
	})
	// With the daemon stopped the same commands read the store directly.
	out, code = cli("status", "--json")
	if json.Unmarshal([]byte(out), &st); code != 0 || st.Running || st.Sources[0].Accepted != 2 {
		t.Fatalf("offline status: %d %s", code, out)
	}
	configured(out)
	if out, code := cli("compact"); code != 0 || !strings.Contains(out, "→") {
		t.Fatalf("compact: %d %s", code, out)
	}
	// A retry of an erased lead is a duplicate: it is not created again.
	d = startDaemon(t, cfg, addr)
	body := hemnetSample("op-1")
	if code, err := send(url, body); err != nil || code != 200 {
		t.Fatalf("retry of an erased lead: %d %v", code, err)
	}
	out, _ = cli("status", "--json")
	if json.Unmarshal([]byte(out), &st); st.Sources[0].Accepted != 2 {
		t.Fatalf("after a retry of an erased lead, status: %s", out)
	}
	d.stop()
}

// TestOperatorCommandsWithoutTheDaemonsSecrets runs the operator commands
// from a shell that cannot read the secrets the config refers to (as an
// admin shell lacks the unit's environment and systemd credentials): those
// that talk to the running daemon, or only read its store, work; those that
// must build sources and sinks themselves say which secret they lack.
func TestOperatorCommandsWithoutTheDaemonsSecrets(t *testing.T) {
	dir := t.TempDir()
	rec, srv := newReceiver()
	defer srv.Close()
	addr := freePort(t)
	cfg := writeConfig(t, dir, addr, srv.URL, "")
	b, err := os.ReadFile(cfg)
	if err != nil || !bytes.Contains(b, []byte("secret: "+e2eSecret+"\n")) {
		t.Fatalf("writeConfig no longer writes the sink secret inline (%v)", err)
	}
	b = bytes.Replace(b, []byte("secret: "+e2eSecret+"\n"), []byte("secret: {env: LEADSYNC_TEST_SINK_SECRET}\n"), 1)
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LEADSYNC_TEST_SINK_SECRET", e2eSecret) // the daemon's environment
	d := startDaemon(t, cfg, addr)
	cli := func(args ...string) (string, int) {
		t.Helper()
		return runCLI(t, dir, []string{"LEADSYNC_TEST_SINK_SECRET="}, append(args, "--config", cfg)...)
	}
	if code, err := sendSample("http://"+addr+"/webhooks/hemnet", "nosecret-1"); err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	for deadline := time.Now().Add(10 * time.Second); rec.has(map[string]bool{"nosecret-1": true}) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the lead never reached the sink, signed with the secret from the daemon's environment")
		}
	}
	if out, code := cli("check"); code == 0 || !strings.Contains(out, "LEADSYNC_TEST_SINK_SECRET") {
		t.Fatalf("check without the secret: exit %d, want 1 naming the variable:\n%s", code, out)
	}
	for _, args := range [][]string{{"status"}, {"dlq", "list"}, {"replay", "--since", "1h"}, {"reconcile"}} {
		if out, code := cli(args...); code != 0 && !(args[0] == "reconcile" && strings.Contains(out, "no source")) {
			t.Errorf("%v against the running daemon, without its secret: exit %d\n%s", args, code, out)
		}
	}
	d.stop()
	for _, args := range [][]string{{"status"}, {"dlq", "list"}, {"compact"}} {
		if out, code := cli(args...); code != 0 {
			t.Errorf("%v with the daemon stopped, without its secret: exit %d\n%s", args, code, out)
		}
	}
	// Offline, replay builds the sinks itself: it needs the secret, and says so.
	if out, code := cli("replay", "--since", "1h"); code == 0 || !strings.Contains(out, "LEADSYNC_TEST_SINK_SECRET") {
		t.Fatalf("offline replay without the secret: exit %d, want 1 naming the variable:\n%s", code, out)
	}
}
