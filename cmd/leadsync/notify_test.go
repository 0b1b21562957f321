package main_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// notifySocket is the test's side of $NOTIFY_SOCKET: it receives what the
// daemon tells systemd (sd_notify), one datagram per message.
type notifySocket struct {
	path string
	msgs chan string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "notify.sock")
	if len(path) >= 100 { // sun_path holds 108 bytes
		short, err := os.MkdirTemp("", "ln")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(short) })
		path = filepath.Join(short, "n.sock")
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifySocket{path: path, msgs: make(chan string, 256)}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			k, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				close(n.msgs)
				return
			}
			select {
			case n.msgs <- string(buf[:k]):
			default: // never block: the test has failed long before 256
			}
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return n
}

// next returns the next message, which must hold the line want (such as
// READY=1); it fails t when another message comes first or none comes.
func (n *notifySocket) next(t *testing.T, d *daemon, want string) map[string]string {
	t.Helper()
	select {
	case msg, ok := <-n.msgs:
		if !ok {
			t.Fatalf("notify socket closed while waiting for %s", want)
		}
		fields := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(msg), "\n") {
			k, v, _ := strings.Cut(line, "=")
			fields[k] = v
		}
		k, v, _ := strings.Cut(want, "=")
		if got, ok := fields[k]; !ok || got != v {
			t.Fatalf("next sd_notify message is %q, want one with %s\n%s", msg, want, tail(d.logs.String()))
		}
		return fields
	case <-time.After(10 * time.Second):
		t.Fatalf("no sd_notify message with %s within 10s\n%s", want, tail(d.logs.String()))
	}
	return nil
}

// none checks that no message is waiting.
func (n *notifySocket) none(t *testing.T) {
	t.Helper()
	select {
	case msg := <-n.msgs:
		t.Fatalf("unexpected sd_notify message %q", msg)
	default:
	}
}

func monotonicNow(t *testing.T) int64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Sec*1_000_000 + ts.Nsec/1000
}

// TestSdNotifyReloadAndStop runs the daemon as systemd's Type=notify would:
// READY=1 once it serves; on SIGHUP RELOADING=1 (with MONOTONIC_USEC) then
// READY=1, a new sink live for the next lead; a broken config refused with
// its reasons logged while the old config keeps serving; a changed `listen`
// named as needing a restart while the rest of the file is applied;
// STOPPING=1 and exit 0 on SIGTERM.
func TestSdNotifyReloadAndStop(t *testing.T) {
	ns := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", ns.path)
	t.Setenv("WATCHDOG_USEC", "") // no WATCHDOG=1 messages in between
	t.Setenv("WATCHDOG_PID", "")

	dir := t.TempDir()
	_, srv := newReceiver()
	defer srv.Close()
	addr := freePort(t)
	cfg := writeConfig(t, dir, addr, srv.URL, "")
	archive := filepath.Join(dir, "leads.jsonl")
	archive2 := filepath.Join(dir, "leads2.jsonl")
	secondSink := fmt.Sprintf("  - name: archive2\n    type: file\n    path: %s\n", archive2)
	url := "http://" + addr + "/webhooks/hemnet"

	d := startDaemon(t, cfg, addr) // returns once /readyz answers 200
	ready := ns.next(t, d, "READY=1")
	if !strings.HasPrefix(ready["STATUS"], "serving") {
		t.Errorf("READY=1 without a STATUS=serving… line: %q", ready)
	}
	ns.none(t)

	postLead := func(id string) {
		t.Helper()
		if code, err := sendSample(url, id); err != nil || code != 200 {
			t.Fatalf("post %s: %d %v\n%s", id, code, err, tail(d.logs.String()))
		}
	}
	inFile := func(path, id string) bool {
		for _, l := range leadsInFile(t, path) {
			if l.Source.EntityID == id {
				return true
			}
		}
		return false
	}
	hup := func() (before int64) {
		t.Helper()
		before = monotonicNow(t)
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		return before
	}
	// reloadCycle expects RELOADING=1 with a plausible MONOTONIC_USEC, then
	// READY=1.
	reloadCycle := func(before int64) {
		t.Helper()
		m := ns.next(t, d, "RELOADING=1")
		after := monotonicNow(t)
		usec, err := strconv.ParseInt(m["MONOTONIC_USEC"], 10, 64)
		if err != nil {
			t.Fatalf("RELOADING=1 without a numeric MONOTONIC_USEC: %q", m)
		}
		if usec < before || usec > after {
			t.Errorf("MONOTONIC_USEC=%d is not CLOCK_MONOTONIC between the SIGHUP (%d) and its receipt (%d)", usec, before, after)
		}
		r := ns.next(t, d, "READY=1")
		if r["STATUS"] == "" {
			t.Errorf("READY=1 after a reload without a STATUS= line: %q", r)
		}
		ns.none(t)
	}

	postLead("notify-1")
	pollUntil(t, d, 10*time.Second, "notify-1 never reached the archive", func() bool { return inFile(archive, "notify-1") })

	// 1. A good reload: a second file sink, live for the next lead.
	writeConfig(t, dir, addr, srv.URL, secondSink)
	reloadCycle(hup())
	pollUntil(t, d, 5*time.Second, "no 'config reloaded' in the log", func() bool {
		return strings.Contains(d.logs.String(), "config reloaded")
	})
	postLead("notify-2")
	pollUntil(t, d, 10*time.Second, "notify-2 never reached the new sink archive2", func() bool { return inFile(archive2, "notify-2") })
	pollUntil(t, d, 10*time.Second, "notify-2 never reached archive", func() bool { return inFile(archive, "notify-2") })
	if inFile(archive2, "notify-1") {
		t.Error("archive2 got a lead accepted before it was configured")
	}

	// 2. A broken config (an unknown key): refused with FILE:LINE, the
	// running config (with archive2) keeps serving.
	writeConfig(t, dir, addr, srv.URL, secondSink+"colour: blue\n")
	b, _ := os.ReadFile(cfg)
	line := 0
	for i, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "colour:") {
			line = i + 1
		}
	}
	reloadCycle(hup())
	want := fmt.Sprintf("%s:%d: colour", cfg, line)
	pollUntil(t, d, 5*time.Second, "the reload error "+want+" was not logged", func() bool {
		return strings.Contains(d.logs.String(), want)
	})
	select {
	case <-d.exited:
		t.Fatalf("daemon exited after a broken config:\n%s", d.logs)
	default:
	}
	postLead("notify-3")
	pollUntil(t, d, 10*time.Second, "notify-3 never reached archive2 after a refused reload", func() bool { return inFile(archive2, "notify-3") })

	// 3. A changed listen address beside a new sink: the sink is applied,
	// the listen change is named as needing a restart, and the daemon
	// still serves on the old address, nothing on the new one.
	newAddr := freePort(t)
	archive3 := filepath.Join(dir, "leads3.jsonl")
	thirdSink := fmt.Sprintf("  - name: archive3\n    type: file\n    path: %s\n", archive3)
	writeConfig(t, dir, newAddr, srv.URL, secondSink+thirdSink)
	reloadCycle(hup())
	pollUntil(t, d, 5*time.Second, "the listen change was not named as needing a restart", func() bool {
		for _, l := range strings.Split(d.logs.String(), "\n") {
			if strings.Contains(l, "restart") && strings.Contains(l, "listen") && strings.Contains(l, "WARN") {
				return true
			}
		}
		return false
	})
	postLead("notify-4")
	pollUntil(t, d, 10*time.Second, "notify-4 never reached archive3, added beside the listen change", func() bool { return inFile(archive3, "notify-4") })
	pollUntil(t, d, 10*time.Second, "notify-4 never reached archive2", func() bool { return inFile(archive2, "notify-4") })
	if c, err := net.DialTimeout("tcp", newAddr, time.Second); err == nil {
		c.Close()
		t.Errorf("something listens on %s, an address that needs a restart", newAddr)
	}
	// The next reload, of the same file, says so again.
	n := strings.Count(d.logs.String(), "need a restart")
	reloadCycle(hup())
	pollUntil(t, d, 5*time.Second, "a second reload did not name the pending listen change", func() bool {
		return strings.Count(d.logs.String(), "need a restart") > n
	})

	// 4. SIGTERM: STOPPING=1, exit 0.
	d.stop()
	m := ns.next(t, d, "STOPPING=1")
	if m["STATUS"] == "" {
		t.Errorf("STOPPING=1 without a STATUS= line: %q", m)
	}
	ns.none(t)
}
