package main_test

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestTailFollowsLeads runs `leadsync tail --json` against the daemon and
// sees a lead accepted and then delivered to each sink, with no personal
// data in the stream.
func TestTailFollowsLeads(t *testing.T) {
	dir := t.TempDir()
	_, srv := newReceiver()
	defer srv.Close()
	addr := freePort(t)
	cfg := writeConfig(t, dir, addr, srv.URL, "")
	d := startDaemon(t, cfg, addr)
	defer d.stop()

	tail := exec.Command(binPath, "tail", "--json", "--config", cfg)
	out, err := tail.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { tail.Process.Kill(); tail.Wait() }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	time.Sleep(300 * time.Millisecond) // let tail subscribe
	if code, err := sendSample("http://"+addr+"/webhooks/hemnet", "tail-1"); err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	seen := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for !(seen["event accepted"] && seen["delivery delivered crm"] && seen["delivery delivered archive"]) {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("tail ended early; saw %v", seen)
			}
			if strings.Contains(l, "john.doe@example.com") || strings.Contains(l, "070111222333") {
				t.Fatalf("tail shows personal data: %s", l)
			}
			var ev struct{ Kind, Status, Sink string }
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("tail line is not JSON: %s", l)
			}
			seen[strings.TrimSpace(ev.Kind+" "+ev.Status+" "+ev.Sink)] = true
		case <-timeout:
			t.Fatalf("tail saw %v", seen)
		}
	}
}

func TestTailNeedsARunningDaemon(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, freePort(t), "http://127.0.0.1:9/x", "")
	out, code := runCLI(t, dir, nil, "tail", "--config", cfg)
	if code == 0 || !strings.Contains(out, "tail follows a running daemon") {
		t.Fatalf("tail without a daemon: exit %d: %s", code, out)
	}
}
