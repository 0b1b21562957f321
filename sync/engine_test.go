package sync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/hemnet"
	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/file"
	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/state/statetest"
	lsync "github.com/leadsync/leadsync/sync"
	"github.com/leadsync/leadsync/sync/lead"
	"github.com/leadsync/leadsync/sync/lead/leadtest"
)

var hemnetKey = []byte("test-hemnet-key")

// fast is a delivery policy for tests: retries within milliseconds.
var fast = lsync.Policy{Concurrency: 4, Timeout: 2 * time.Second, BackoffInitial: 5 * time.Millisecond,
	BackoffMax: 20 * time.Millisecond, MaxAttempts: 30, MaxAge: time.Hour}

// recorder is an in-memory sink that records what it got and answers with
// what the test scripts.
type recorder struct {
	mu      stdsync.Mutex
	got     []sinks.Delivery
	answer  func(d sinks.Delivery, n int) error // n counts calls from 1
	calls   int
	arrived chan sinks.Delivery
	closed  atomic.Bool
}

func newRecorder() *recorder { return &recorder{arrived: make(chan sinks.Delivery, 1000)} }

func (r *recorder) Deliver(ctx context.Context, d sinks.Delivery) error {
	r.mu.Lock()
	r.calls++
	n, answer := r.calls, r.answer
	r.mu.Unlock()
	if answer != nil {
		if err := answer(d, n); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.got = append(r.got, d)
	r.mu.Unlock()
	r.arrived <- d
	return nil
}

func (r *recorder) Close() error { r.closed.Store(true); return nil }

func (r *recorder) wait(t *testing.T, n int) []sinks.Delivery {
	t.Helper()
	var out []sinks.Delivery
	timeout := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case d := <-r.arrived:
			out = append(out, d)
		case <-timeout:
			t.Fatalf("got %d deliveries, want %d", len(out), n)
		}
	}
	return out
}

type harness struct {
	eng   *lsync.Engine
	url   string
	store *state.Store
	dir   string
	stop  func()
}

// start runs an engine with a Hemnet source "hemnet" (allowing 127.0.0.1
// unless allow says otherwise) and the given sinks.
func start(t *testing.T, sinkSpecs []lsync.SinkSpec, mod func(*lsync.Options)) *harness {
	t.Helper()
	st, dir := statetest.Open(t, state.Options{})
	src, err := hemnet.New(hemnet.Config{Name: "hemnet", Keys: [][]byte{hemnetKey}, MaxClockSkew: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	o := lsync.Options{Store: st, Sources: []lsync.SourceSpec{{Source: src}}, Sinks: sinkSpecs,
		MaxBody: 64 << 10, Drain: 2 * time.Second}
	if mod != nil {
		mod(&o)
	}
	e, err := lsync.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, ln) }()
	var once stdsync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &harness{eng: e, url: "http://" + ln.Addr().String(), store: st, dir: dir, stop: stop}
}

func post(t *testing.T, url string, body []byte, h map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func signed(body []byte) map[string]string {
	return map[string]string{"X-Signature": hemnet.Sign(hemnetKey, body),
		"X-Timestamp": fmt.Sprint(time.Now().UnixMilli()), "X-Request-Id": "req-test"}
}

func TestWebhookAnswers(t *testing.T) {
	rec := newRecorder()
	h := start(t, []lsync.SinkSpec{{Name: "rec", Sink: rec, Delivery: fast}}, func(o *lsync.Options) {
		o.MaxBody = 16 << 10
	})
	hook := h.url + "/webhooks/hemnet"
	body := hemnet.Sample("c-1")

	code, m := post(t, hook, body, signed(body))
	if code != 200 || m["status"] != "accepted" || !strings.HasPrefix(fmt.Sprint(m["lead_id"]), "ld_") ||
		!strings.HasPrefix(fmt.Sprint(m["event_id"]), "ev_") {
		t.Fatalf("new event: %d %v", code, m)
	}
	evID := m["event_id"]
	code, m = post(t, hook, body, signed(body))
	if code != 200 || m["status"] != "duplicate" || m["event_id"] != evID {
		t.Fatalf("retry: %d %v, want duplicate of %v", code, m, evID)
	}
	d := rec.wait(t, 1)[0]
	leadtest.Validate(t, d.Body)
	if d.Lead.EventID != evID || d.ID != lead.DeliveryID(lead.Key("hemnet", "contact", "c-1"), "rec") {
		t.Fatalf("delivery = %s for %s", d.ID, d.Lead.EventID)
	}

	bad := []byte(`{"type":"CONTACT","action":"CREATE","data":`)
	if code, m = post(t, hook, bad, signed(bad)); code != 200 || m["status"] != "quarantined" {
		t.Fatalf("unparseable: %d %v", code, m)
	}
	upd := bytes.Replace(hemnet.Sample("c-2"), []byte(`"CREATE"`), []byte(`"UPDATE"`), 1)
	if code, m = post(t, hook, upd, signed(upd)); code != 200 || m["status"] != "quarantined" {
		t.Fatalf("unknown action: %d %v", code, m)
	}

	cases := []struct {
		name string
		req  func() *http.Request
		want int
	}{
		{"bad signature", func() *http.Request {
			b := hemnet.Sample("c-3")
			r, _ := http.NewRequest("POST", hook, bytes.NewReader(b))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-Signature", hemnet.Sign([]byte("wrong"), b))
			r.Header.Set("X-Timestamp", fmt.Sprint(time.Now().UnixMilli()))
			return r
		}, 401},
		{"no signature", func() *http.Request {
			r, _ := http.NewRequest("POST", hook, bytes.NewReader(hemnet.Sample("c-3")))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, 401},
		{"clock skew", func() *http.Request {
			b := hemnet.Sample("c-3")
			r, _ := hemnet.SignedRequest(hook, hemnetKey, b, time.Now().Add(-time.Hour))
			return r
		}, 401},
		{"unknown source", func() *http.Request {
			r, _ := hemnet.SignedRequest(h.url+"/webhooks/nope", hemnetKey, hemnet.Sample(""), time.Now())
			return r
		}, 404},
		{"GET", func() *http.Request { r, _ := http.NewRequest("GET", hook, nil); return r }, 405},
		{"too large", func() *http.Request {
			b := bytes.Repeat([]byte("x"), 17<<10)
			r, _ := hemnet.SignedRequest(hook, hemnetKey, b, time.Now())
			return r
		}, 413},
		{"too large, chunked", func() *http.Request {
			b := bytes.Repeat([]byte("x"), 17<<10)
			r, _ := hemnet.SignedRequest(hook, hemnetKey, b, time.Now())
			r.Body = io.NopCloser(bytes.NewReader(b)) // hides the length: chunked
			r.ContentLength = -1
			return r
		}, 413},
		{"not JSON", func() *http.Request {
			r, _ := hemnet.SignedRequest(hook, hemnetKey, hemnet.Sample(""), time.Now())
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, 415},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if code, m := do(t, c.req()); code != c.want {
				t.Fatalf("answer %d %v, want %d", code, m, c.want)
			}
		})
	}
	src, _ := h.store.Sources()
	if len(src) != 1 || src[0].Counts["accepted"] != 1 || src[0].Counts["quarantined"] != 2 {
		t.Fatalf("source stats = %+v", src)
	}
}

func TestIPAllowlistAndTrustedProxies(t *testing.T) {
	al, err := providers.ParseAllowlist([]string{"hemnet-production"})
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, nil, func(o *lsync.Options) {
		o.Sources[0].Allow = al.Allows
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	hook := h.url + "/webhooks/hemnet"
	body := hemnet.Sample("")
	if code, _ := post(t, hook, body, signed(body)); code != 403 {
		t.Fatalf("from loopback: %d, want 403", code)
	}
	// A sender not allowed learns nothing more: 403 whatever else is wrong.
	if code, _ := post(t, hook, body, map[string]string{"Content-Type": "text/plain"}); code != 403 {
		t.Fatalf("from loopback, text/plain: %d, want 403 (not 415)", code)
	}
	hdr := signed(body)
	hdr["X-Forwarded-For"] = "52.48.66.139"
	if code, m := post(t, hook, body, hdr); code != 200 {
		t.Fatalf("from Hemnet through a trusted proxy: %d %v", code, m)
	}
	hdr["X-Forwarded-For"] = "52.48.66.139, 10.1.2.3"
	if code, _ := post(t, hook, body, hdr); code != 403 {
		t.Fatalf("spoofed X-Forwarded-For behind an untrusted hop: %d, want 403", code)
	}
}

func TestStoreUnavailableAnswers503(t *testing.T) {
	h := start(t, nil, nil)
	h.store.Close() // the daemon's store failing under it
	body := hemnet.Sample("")
	if code, _ := post(t, h.url+"/webhooks/hemnet", body, signed(body)); code != 503 {
		t.Fatalf("answer %d, want 503", code)
	}
}

// TestDrainAnswers503 stops the engine while a delivery hangs: through the
// drain, the listener stays open and says so (readyz and new webhooks answer
// 503 with Retry-After, and the connection is closed after the answer)
// rather than refusing connections; the hung delivery is cancelled at the
// drain deadline and stays queued.
func TestDrainAnswers503(t *testing.T) {
	rec := newRecorder()
	started := make(chan struct{}, 1)
	rec.answer = func(d sinks.Delivery, n int) error {
		started <- struct{}{}
		time.Sleep(time.Hour) // never answers; the drain cancels the attempt's context
		return nil
	}
	hang := &ctxSink{rec: rec}
	h := start(t, []lsync.SinkSpec{{Name: "hang", Sink: hang, Delivery: fast}}, nil)
	body := hemnet.Sample("c-drain")
	if code, m := post(t, h.url+"/webhooks/hemnet", body, signed(body)); code != 200 {
		t.Fatalf("before the drain: %d %v", code, m)
	}
	<-started
	stopped := make(chan struct{})
	go func() { h.stop(); close(stopped) }()

	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(h.url + "/readyz")
		if err != nil {
			t.Fatalf("readyz during the drain: %v (want a 503, not a refused connection)", err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			if resp.Header.Get("Retry-After") == "" || !resp.Close {
				t.Fatalf("readyz 503 while draining without Retry-After or Connection: close: %v", resp.Header)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz still %d after stop", resp.StatusCode)
		}
		time.Sleep(5 * time.Millisecond)
	}
	body = hemnet.Sample("c-during")
	req, _ := http.NewRequest(http.MethodPost, h.url+"/webhooks/hemnet", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range signed(body) {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("webhook during the drain: %v (want a 503)", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !resp.Close {
		t.Fatalf("webhook during the drain: %d, Retry-After %q, close %v; want 503, a Retry-After, Connection: close",
			resp.StatusCode, resp.Header.Get("Retry-After"), resp.Close)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the engine did not stop after its drain deadline")
	}
	if _, err := http.Get(h.url + "/readyz"); err == nil {
		t.Fatal("the listener is still open after Run returned")
	}
	sks, err := h.store.Sinks()
	if err != nil {
		t.Fatal(err)
	}
	if len(sks) != 1 || sks[0].Pending != 1 {
		t.Fatalf("queues after the drain = %+v, want the hung sink's one entry still pending", sks)
	}
}

// ctxSink hands deliveries to rec but returns when the attempt's context
// ends, as a real sink's HTTP call does.
type ctxSink struct{ rec *recorder }

func (s *ctxSink) Deliver(ctx context.Context, d sinks.Delivery) error {
	done := make(chan error, 1)
	go func() { done <- s.rec.Deliver(ctx, d) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *ctxSink) Close() error { return s.rec.Close() }

func TestSinkOutageThenRecoveryAndPermanentFailure(t *testing.T) {
	rec := newRecorder()
	var down stdsync.Mutex
	outage := true
	rec.answer = func(d sinks.Delivery, n int) error {
		if d.Lead.Source.EntityID == "poison" {
			return sinks.Permanent(&sinks.HTTPError{Status: 400, Body: `{"error":"rejected"}`})
		}
		down.Lock()
		defer down.Unlock()
		if outage {
			return fmt.Errorf("503 Service Unavailable")
		}
		return nil
	}
	h := start(t, []lsync.SinkSpec{{Name: "rec", Sink: rec, Delivery: fast}}, nil)
	const n = 20
	for i := range n {
		b := hemnet.Sample(fmt.Sprint("c-", i))
		if code, m := post(t, h.url+"/webhooks/hemnet", b, signed(b)); code != 200 {
			t.Fatalf("post %d: %d %v", i, code, m)
		}
	}
	poison := hemnet.Sample("poison")
	post(t, h.url+"/webhooks/hemnet", poison, signed(poison))
	time.Sleep(100 * time.Millisecond) // let a few retries fail
	down.Lock()
	outage = false
	down.Unlock()
	got := rec.wait(t, n)
	seen := map[string]bool{}
	for _, d := range got {
		seen[d.Lead.Source.EntityID] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct leads arrived, want %d", len(seen), n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		dl, _ := h.store.DeadLetters("rec")
		if len(dl) == 1 && dl[0].Status == 400 && strings.Contains(dl[0].Response, "rejected") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead letters = %+v, want the poison lead with its 400", dl)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMatchRoutesBySourceAndAction(t *testing.T) {
	yes, no := newRecorder(), newRecorder()
	h := start(t, []lsync.SinkSpec{
		{Name: "yes", Sink: yes, Delivery: fast, Match: lsync.Match{Sources: []string{"hemnet"}, Actions: []string{"created"}}},
		{Name: "no", Sink: no, Delivery: fast, Match: lsync.Match{Actions: []string{"deleted"}}},
	}, nil)
	b := hemnet.Sample("")
	post(t, h.url+"/webhooks/hemnet", b, signed(b))
	yes.wait(t, 1)
	sk, _ := h.store.Sinks()
	for _, s := range sk {
		if s.Name == "no" && s.Pending != 0 {
			t.Fatalf("sink no has %d pending, want none", s.Pending)
		}
	}
	select {
	case d := <-no.arrived:
		t.Fatalf("sink no got %s", d.ID)
	case <-time.After(50 * time.Millisecond):
	}
}

// Without a crash, every lead reaches a sink exactly once, however the
// deliveries, acks and outbox reads interleave.
func TestExactlyOnceWithoutCrash(t *testing.T) {
	rec := newRecorder()
	p := fast
	p.Concurrency = 8
	h := start(t, []lsync.SinkSpec{{Name: "rec", Sink: rec, Delivery: p}}, nil)
	const n = 300
	var wg stdsync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 6 {
				b := hemnet.Sample(fmt.Sprint("once-", i))
				if code, m := post(t, h.url+"/webhooks/hemnet", b, signed(b)); code != 200 {
					t.Errorf("post: %d %v", code, m)
				}
			}
		}()
	}
	wg.Wait()
	got := rec.wait(t, n)
	seen := map[string]int{}
	for _, d := range got {
		seen[d.ID]++
	}
	if len(seen) != n {
		t.Fatalf("%d distinct deliveries, want %d", len(seen), n)
	}
	select {
	case d := <-rec.arrived:
		t.Fatalf("delivery %s arrived again", d.ID)
	case <-time.After(200 * time.Millisecond):
	}
}

// startWithFileLead starts an engine whose one sink is a file sink at path,
// and posts a Hemnet contact (John Doe) that it waits to see in the file.
func startWithFileLead(t *testing.T, sink, path, contact string) *harness {
	t.Helper()
	fs, err := file.New(file.Config{Name: sink, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, []lsync.SinkSpec{{Name: sink, Sink: fs, Delivery: fast}}, nil)
	body := hemnet.Sample(contact)
	if code, m := post(t, h.url+"/webhooks/hemnet", body, signed(body)); code != 200 {
		t.Fatalf("post: %d %v", code, m)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("john.doe@example.com")) {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatal("the lead never reached the file")
		}
	}
}

// TestEraseGoesOnWhereItCan: when the store cannot erase (here: it is
// closed under the engine), the person is still erased from the sinks that
// keep leads themselves, and the error says where it failed.
func TestEraseGoesOnWhereItCan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leads.jsonl")
	h := startWithFileLead(t, "archive", path, "c-erase")
	// The delivery's outcome must be stored before the store goes: else
	// the dispatcher, unable to record it, delivers the lead again (and
	// again), after the erase too.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if sk, err := h.store.Sinks(); err == nil && len(sk) == 1 && sk[0].Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delivery's outcome was never stored")
		}
	}
	h.store.Close()
	counts, err := h.eng.Erase("john.doe@example.com", "")
	if err == nil || !strings.Contains(err.Error(), "erase from the store") {
		t.Fatalf("erase with the store closed: %v, want an error naming the store", err)
	}
	if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("john.doe@example.com")) || counts["sink archive"] != 1 {
		t.Fatalf("the file sink still holds the person (counts %v):\n%s", counts, b)
	}
}

// TestEraseReachesRemovedFileSinks: a file sink removed from the config
// leaves its file (in the state dir, say) with the leads it took; erase
// still finds the person there, as SPEC wants no erased byte left.
func TestEraseReachesRemovedFileSinks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "second.jsonl")
	h := startWithFileLead(t, "second", path, "c-removed")
	src, _ := hemnet.New(hemnet.Config{Name: "hemnet", Keys: [][]byte{hemnetKey}})
	if err := h.eng.Reload(&lsync.Built{Sources: []lsync.SourceSpec{{Source: src}}}, 64<<10); err != nil {
		t.Fatal(err)
	}
	counts, err := h.eng.Erase("john.doe@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("john.doe@example.com")) || counts["file "+path] != 1 {
		t.Fatalf("the removed sink's file still holds the person (counts %v):\n%s", counts, b)
	}
}

// A sink that delivers nothing between a lead's attempts is down: the lead
// waits for max_age however many attempts it makes (SPEC: a sink down for
// days still gets every lead), also one queued before the sink's last
// success. A lead that keeps failing while the sink delivers others between
// its attempts is buried at max_attempts.
func TestDownSinkOutlastsMaxAttempts(t *testing.T) {
	rec := newRecorder()
	var mu stdsync.Mutex
	outage := false
	tries := map[string]int{}
	wentDown := make(chan struct{}) // closed when "fine" is delivered and the sink goes down
	rec.answer = func(d sinks.Delivery, n int) error {
		mu.Lock()
		id := d.Lead.Source.EntityID
		tries[id]++
		if id == "flaky" && tries[id] == 2 {
			// flaky's second attempt ends after the sink's last success:
			// every failure of it from then on is with the sink down.
			mu.Unlock()
			<-wentDown
			mu.Lock()
		}
		defer mu.Unlock()
		if id == "fine" {
			outage = true
			close(wentDown)
			return nil
		}
		if outage || id == "flaky" {
			return fmt.Errorf("503 Service Unavailable")
		}
		return nil
	}
	triesOf := func(id string) int { mu.Lock(); defer mu.Unlock(); return tries[id] }
	p := fast
	p.MaxAttempts = 3
	h := start(t, []lsync.SinkSpec{{Name: "rec", Sink: rec, Delivery: p}}, nil)
	send := func(id string) {
		t.Helper()
		b := hemnet.Sample(id)
		if code, m := post(t, h.url+"/webhooks/hemnet", b, signed(b)); code != 200 {
			t.Fatalf("post: %d %v", code, m)
		}
	}
	send("flaky")
	for deadline := time.Now().Add(10 * time.Second); triesOf("flaky") < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("flaky never tried")
		}
	}
	// Delivered after flaky's first failure, and then the sink goes down.
	send("fine")
	rec.wait(t, 1)
	send("waits")
	for deadline := time.Now().Add(10 * time.Second); triesOf("flaky") < 3*p.MaxAttempts || triesOf("waits") < 3*p.MaxAttempts; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("attempts in 10s: flaky %d, waits %d", triesOf("flaky"), triesOf("waits"))
		}
	}
	if dl, _ := h.store.DeadLetters("rec"); len(dl) != 0 {
		t.Fatalf("dead letters while the sink is down = %+v, want none before max_age", dl)
	}
	mu.Lock()
	outage = false
	mu.Unlock()
	if got := rec.wait(t, 1); got[0].Lead.Source.EntityID != "waits" {
		t.Fatalf("delivered %s", got[0].Lead.Source.EntityID)
	}
	// The sink delivers again, flaky still fails: it is buried.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		dl, _ := h.store.DeadLetters("rec")
		if len(dl) == 1 && dl[0].Attempt >= p.MaxAttempts && strings.Contains(dl[0].Reason, "max_attempts") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead letters = %+v, want flaky after %d attempts", dl, p.MaxAttempts)
		}
		send(fmt.Sprint("other-", time.Now().UnixNano())) // traffic the sink delivers between flaky's attempts
	}
	if _, err := h.store.DropDead("rec", nil); err != nil {
		t.Fatal(err)
	}
	// A sink that answers is up, even if it answers nothing but 500: its
	// leads are buried at max_attempts.
	rec.mu.Lock()
	prev := rec.answer
	rec.answer = func(d sinks.Delivery, n int) error {
		if d.Lead.Source.EntityID == "answered" {
			return &sinks.HTTPError{Status: 500, Body: "boom"}
		}
		return prev(d, n)
	}
	rec.mu.Unlock()
	send("answered")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		dl, _ := h.store.DeadLetters("rec")
		if len(dl) == 1 && dl[0].Status == 500 && dl[0].Attempt == p.MaxAttempts {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead letters = %+v, want the lead the sink answered 500 after %d attempts", dl, p.MaxAttempts)
		}
	}
}

// A sink that is down fails every lead queued for it; its retries are
// logged at warn at most once per 10 s (the next such line counts the
// others, which go to debug), not once per lead per retry.
func TestRetriesOfADownSinkDoNotFloodTheLog(t *testing.T) {
	rec := newRecorder()
	rec.answer = func(sinks.Delivery, int) error { return fmt.Errorf("503 Service Unavailable") }
	var logs *logLines
	h := start(t, []lsync.SinkSpec{{Name: "rec", Sink: rec, Delivery: fast}}, func(o *lsync.Options) { logs = captureLog(o) })
	for i := range 20 {
		b := hemnet.Sample(fmt.Sprint("down-", i))
		if code, m := post(t, h.url+"/webhooks/hemnet", b, signed(b)); code != 200 {
			t.Fatalf("post: %d %v", code, m)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		rec.mu.Lock()
		calls := rec.calls
		rec.mu.Unlock()
		if calls >= 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d attempts in 10s", calls)
		}
	}
	warn, debug := 0, 0
	for _, m := range logs.find("delivery failed; will retry") {
		switch m["level"] {
		case "WARN":
			warn++
		case "DEBUG":
			debug++
		}
	}
	if warn < 1 || warn > 2 || debug < 50 {
		t.Fatalf("%d retries logged at warn and %d at debug; want 1 at warn in 10 s, the rest at debug", warn, debug)
	}
	if st, _ := h.eng.Status(); st.Sinks[0].LastError == "" {
		t.Fatalf("status lost the sink's last error: %+v", st.Sinks[0])
	}
}
