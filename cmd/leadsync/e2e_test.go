package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers/hemnet"
	"github.com/leadsync/leadsync/sinks/webhook"
)

// The end-to-end tests build the real binary once and drive it as an
// operator and a provider would: a config file, a process, HTTP, signals.

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "leadsync-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "leadsync")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build leadsync: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	e2eKey    = "e2e-hemnet-key"
	e2eSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// daemon is one leadsync process.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	config string
	logs   *syncBuffer
	exited chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeConfig(t *testing.T, dir, addr, sinkURL string, extra string) string {
	t.Helper()
	cfg := fmt.Sprintf(`listen: %s
state_dir: %s
log: {level: info, format: json}
drain: 5s
sources:
  - name: hemnet
    provider: hemnet
    keys: [%s]
sinks:
  - name: crm
    type: webhook
    url: %s
    secret: %s
    delivery: {concurrency: 8, timeout: 5s, backoff: {initial: 20ms, max: 200ms}}
  - name: archive
    type: file
    path: %s
%s`, addr, filepath.Join(dir, "state"), e2eKey, sinkURL, e2eSecret, filepath.Join(dir, "leads.jsonl"), extra)
	path := filepath.Join(dir, "leadsync.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startDaemon(t *testing.T, config, addr string) *daemon {
	t.Helper()
	d := &daemon{t: t, addr: addr, config: config, logs: &syncBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(binPath, "serve", "--config", config)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	d.cmd.Env = append(os.Environ(), "JOURNAL_STREAM=")
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() { d.kill() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d
			}
		}
		select {
		case <-d.exited:
			t.Fatalf("daemon exited at start:\n%s", d.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon not ready after 15s:\n%s", d.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *daemon) kill() {
	if d.cmd.Process != nil {
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.exited
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		d.t.Fatalf("daemon did not stop within 20s of SIGTERM:\n%s", d.logs)
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		d.t.Fatalf("daemon exit code %d after SIGTERM:\n%s", code, d.logs)
	}
}

// receiver is a CRM endpoint that verifies Standard Webhooks signatures and
// counts deliveries per webhook-id.
type receiver struct {
	mu       sync.Mutex
	byID     map[string]int    // webhook-id → times received
	contacts map[string]string // contact id → webhook-id
	badSig   atomic.Int64
	answer   atomic.Int64 // status to answer; 0 = 200
}

func newReceiver() (*receiver, *httptest.Server) {
	r := &receiver{byID: map[string]int{}, contacts: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if err := webhook.Verify(e2eSecret, req.Header, body, 5*time.Minute, time.Now()); err != nil {
			r.badSig.Add(1)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if code := r.answer.Load(); code != 0 {
			http.Error(w, "scripted failure", int(code))
			return
		}
		var l struct {
			Source struct {
				EntityID string `json:"entity_id"`
			} `json:"source"`
		}
		json.Unmarshal(body, &l)
		r.mu.Lock()
		r.byID[req.Header.Get("webhook-id")]++
		r.contacts[l.Source.EntityID] = req.Header.Get("webhook-id")
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	return r, srv
}

func (r *receiver) has(ids map[string]bool) (missing int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range ids {
		if _, ok := r.contacts[id]; !ok {
			missing++
		}
	}
	return missing
}

func send(url string, body []byte) (int, error) {
	req, err := hemnet.SignedRequest(url, []byte(e2eKey), body, time.Now())
	if err != nil {
		return 0, err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestKillNineUnderLoad sends 1,000 webhooks (10% duplicates) from
// concurrent clients while the daemon is killed with SIGKILL twice and
// restarted, then checks that every event that was answered 200 reached both
// sinks, and reports how many arrived twice.
func TestKillNineUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	rec, srv := newReceiver()
	defer srv.Close()
	addr := freePort(t)
	cfg := writeConfig(t, dir, addr, srv.URL, "")
	d := startDaemon(t, cfg, addr)
	var dmu sync.Mutex

	const total, unique = 1000, 900
	bodies := make([][]byte, total)
	ids := make([]string, total)
	for i := range unique {
		ids[i] = fmt.Sprintf("e2e-%04d", i)
		bodies[i] = hemnet.Sample(ids[i])
	}
	for i := unique; i < total; i++ { // duplicates of earlier events
		ids[i], bodies[i] = ids[i-unique], bodies[i-unique]
	}

	var acked sync.Map // contact id → true once answered 200
	var sent atomic.Int64
	work := make(chan int)
	var wg sync.WaitGroup
	url := "http://" + addr + "/webhooks/hemnet"
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				// A provider retries until it gets a 200; so does this client.
				for try := 0; ; try++ {
					code, err := send(url, bodies[i])
					if err == nil && code == 200 {
						acked.Store(ids[i], true)
						break
					}
					if err == nil && code != 503 {
						t.Errorf("event %s: answer %d", ids[i], code)
						break
					}
					if try > 500 {
						t.Errorf("event %s: gave up: %v", ids[i], err)
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				sent.Add(1)
			}
		}()
	}
	kills := 0
	go func() {
		for i := range total {
			work <- i
		}
		close(work)
	}()
	for _, at := range []int64{total / 4, total / 2, 3 * total / 4} {
		for sent.Load() < at {
			time.Sleep(time.Millisecond)
		}
		dmu.Lock()
		d.kill()
		kills++
		d = startDaemon(t, cfg, addr)
		dmu.Unlock()
	}
	wg.Wait()

	want := map[string]bool{}
	acked.Range(func(k, _ any) bool { want[k.(string)] = true; return true })
	if len(want) != unique {
		t.Fatalf("%d distinct events acknowledged, want %d", len(want), unique)
	}
	deadline := time.Now().Add(60 * time.Second)
	for rec.has(want) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d acknowledged events never reached the webhook sink\n%s", rec.has(want), tail(d.logs.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The file sink holds every acknowledged lead too, each line whole JSON.
	var inFile map[string]int
	var lines int
	for {
		inFile, lines = readLeadFile(t, filepath.Join(dir, "leads.jsonl"))
		missing := 0
		for id := range want {
			if inFile[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d acknowledged events never reached the file sink\n%s", missing, tail(d.logs.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.stop()
	for id := range want {
		if inFile[id] == 0 {
			t.Errorf("event %s acknowledged but not in the file sink", id)
		}
	}
	rec.mu.Lock()
	twice := 0
	for _, n := range rec.byID {
		if n > 1 {
			twice++
		}
	}
	rec.mu.Unlock()
	if rec.badSig.Load() > 0 {
		t.Errorf("%d deliveries failed signature verification", rec.badSig.Load())
	}
	t.Logf("%d webhooks (%d unique), %d SIGKILLs: all %d acknowledged events delivered; "+
		"webhook sink got %d twice (same webhook-id), file sink has %d lines for %d leads",
		total, unique, kills, len(want), twice, lines, len(inFile))
}

// readLeadFile counts the leads of a JSONL file by contact id; every line
// must be whole JSON.
func readLeadFile(t *testing.T, path string) (map[string]int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inFile := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		var l struct {
			Source struct {
				EntityID string `json:"entity_id"`
			} `json:"source"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d of %s is not whole JSON: %v", lines, path, err)
		}
		inFile[l.Source.EntityID]++
	}
	return inFile, lines
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

func hemnetSample(id string) []byte { return hemnet.Sample(id) }
