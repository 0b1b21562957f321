package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers/hemnet"
)

// TestHostileInputE2E drives the real binary with the real config and log
// handler: a Hemnet clock an hour off gets 401 and the journal line says why;
// a 10 MB header gets 431; max_body from the config is the limit (exactly it
// is accepted, one byte more is 413); deep nesting is quarantined; and the
// daemon still delivers and stops cleanly afterwards.
func TestHostileInputE2E(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	rec, srv := newReceiver()
	defer srv.Close()
	const maxBody = 64 << 10
	d := startDaemon(t, writeConfig(t, dir, addr, srv.URL, "max_body: 64KiB\n"), addr)
	hook := "http://" + addr + "/webhooks/hemnet"
	client := &http.Client{Timeout: 10 * time.Second}
	postAt := func(body []byte, at time.Time) (int, map[string]any) {
		t.Helper()
		req, err := hemnet.SignedRequest(hook, []byte(e2eKey), body, at)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("post: %v", err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}

	// Clock skew: 401, and the log says by how much and what the window is.
	if code, m := postAt(hemnet.Sample("skew-e2e"), time.Now().Add(-time.Hour)); code != 401 {
		t.Fatalf("an hour old: %d %v, want 401", code, m)
	}
	var reason string
	deadline := time.Now().Add(5 * time.Second) // the log reaches us through a pipe
	for !strings.Contains(reason, "outside window") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		for line := range strings.Lines(d.logs.String()) {
			var r map[string]any
			if json.Unmarshal([]byte(line), &r) == nil && r["msg"] == "webhook rejected" && r["answer"] == float64(401) {
				reason = fmt.Sprint(r["reason"])
			}
		}
	}
	if !strings.Contains(reason, "in the past) outside window of ±10m0s") || !strings.Contains(reason, "(1h0m0") {
		t.Fatalf("log reason %q does not say the timestamp is an hour outside the 10m window:\n%s", reason, tail(d.logs.String()))
	}
	t.Logf("log reason: %s", reason)

	// A 10 MB header.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		w := bufio.NewWriter(c)
		w.WriteString("POST /webhooks/hemnet HTTP/1.1\r\nHost: leadsync\r\nX-Big: ")
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for range 160 { // 10 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		w.WriteString("\r\n\r\n")
		w.Flush()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("10 MB header: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("10 MB header: %s, want 431", resp.Status)
	}

	// max_body from the config, to the byte.
	pad := func(id string, size int) []byte {
		b := hemnet.Sample(id)
		return append(b, bytes.Repeat([]byte(" "), size-len(b))...)
	}
	if code, m := postAt(pad("exact-e2e", maxBody), time.Now()); code != 200 || m["status"] != "accepted" {
		t.Fatalf("exactly max_body: %d %v", code, m)
	}
	if code, m := postAt(pad("over-e2e", maxBody+1), time.Now()); code != 413 {
		t.Fatalf("max_body+1: %d %v, want 413", code, m)
	}
	if code, m := postAt([]byte(strings.Repeat("[", 60_000)), time.Now()); code != 200 || m["status"] != "quarantined" {
		t.Fatalf("deep nesting: %d %v", code, m)
	}

	// Still alive: the accepted lead reaches the sink; then a clean stop.
	deadline = time.Now().Add(10 * time.Second)
	for rec.has(map[string]bool{"exact-e2e": true}) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the max_body lead was not delivered:\n%s", tail(d.logs.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.stop()
}
