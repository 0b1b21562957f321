package sync_test

// Fault tests of issue 7: sinks that misbehave over real HTTP (a webhook sink
// against scripted httptest peers), and a storm of one event.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers/hemnet"
	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/webhook"
	"github.com/leadsync/leadsync/state"
	lsync "github.com/leadsync/leadsync/sync"
	"github.com/leadsync/leadsync/sync/lead"
)

const faultSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// faultPeer is a scripted webhook receiver. It verifies every request's Standard
// Webhooks signature, notes when each delivery id arrived, and counts the
// 2xx answers it gave per delivery id (what the sink's owner would see as
// "delivered").
type faultPeer struct {
	srv *httptest.Server

	mu       stdsync.Mutex
	arrivals map[string][]time.Time // webhook-id → arrival of each request
	ok       map[string]int         // webhook-id → 2xx answers given
	requests int
	badSig   int
}

// faultScript answers one request; try counts this delivery id's requests from
// 1, n all requests from 1. It reports whether it answered 2xx.
type faultScript func(w http.ResponseWriter, r *http.Request, try, n int) bool

func newFaultPeer(t *testing.T, answer faultScript) *faultPeer {
	p := &faultPeer{arrivals: map[string][]time.Time{}, ok: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		body, err := io.ReadAll(r.Body)
		id := r.Header.Get(webhook.HeaderID)
		p.mu.Lock()
		p.requests++
		n := p.requests
		if err != nil || webhook.Verify(faultSecret, r.Header, body, time.Minute, time.Now()) != nil {
			p.badSig++
			p.mu.Unlock()
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		p.arrivals[id] = append(p.arrivals[id], at)
		try := len(p.arrivals[id])
		p.mu.Unlock()
		if answer(w, r, try, n) {
			p.mu.Lock()
			p.ok[id]++
			p.mu.Unlock()
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// delivered counts the delivery ids answered 2xx at least once.
func (p *faultPeer) delivered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ok)
}

// waitAll waits until every id in want was answered 2xx.
func (p *faultPeer) waitAll(t *testing.T, name string, want map[string]bool, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for p.delivered() < len(want) {
		if time.Now().After(deadline) {
			t.Fatalf("sink %s: %d of %d leads delivered after %s", name, p.delivered(), len(want), within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exactlyOnce checks that the ids answered 2xx are want, each once, and that
// every request was signed.
func (p *faultPeer) exactlyOnce(t *testing.T, name string, want map[string]bool) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.badSig != 0 {
		t.Errorf("sink %s: %d requests with a bad signature", name, p.badSig)
	}
	for id := range want {
		if p.ok[id] != 1 {
			t.Errorf("sink %s: delivery %s answered 2xx %d times, want once", name, id, p.ok[id])
		}
	}
	for id := range p.ok {
		if !want[id] {
			t.Errorf("sink %s: unexpected delivery %s", name, id)
		}
	}
}

// gaps returns, per delivery id that arrived at least twice, the time
// between its first and second request.
func (p *faultPeer) gaps() map[string]time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]time.Duration{}
	for id, at := range p.arrivals {
		if len(at) >= 2 {
			out[id] = at[1].Sub(at[0])
		}
	}
	return out
}

func (p *faultPeer) triesOf(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.arrivals[id])
}

// timedSink wraps a sink to measure how long each Deliver took and how many ran
// at once: the dispatcher's timeout and concurrency seen from the sink.
type timedSink struct {
	sinks.Sink
	mu          stdsync.Mutex
	inflight    int
	maxInflight int
	maxTook     time.Duration
	calls       int
}

func (s *timedSink) Deliver(ctx context.Context, d sinks.Delivery) error {
	s.mu.Lock()
	s.inflight++
	s.calls++
	s.maxInflight = max(s.maxInflight, s.inflight)
	s.mu.Unlock()
	start := time.Now()
	err := s.Sink.Deliver(ctx, d)
	took := time.Since(start)
	s.mu.Lock()
	s.inflight--
	s.maxTook = max(s.maxTook, took)
	s.mu.Unlock()
	return err
}

func (s *timedSink) stats() (calls, maxInflight int, maxTook time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.maxInflight, s.maxTook
}

func faultWebhook(t *testing.T, name, url string) sinks.Sink {
	t.Helper()
	s, err := webhook.New(webhook.Config{Name: name, URL: url, Secret: faultSecret,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// deliveryIDsOf are the delivery ids of the contacts' leads on sink.
func deliveryIDsOf(contacts []string, sink string) map[string]bool {
	out := map[string]bool{}
	for _, c := range contacts {
		out[lead.DeliveryID(lead.Key("hemnet", "contact", c), sink)] = true
	}
	return out
}

// sinkQueue returns sink's queue as status reports it.
func sinkQueue(t *testing.T, st *state.Store, sink string) state.SinkStats {
	t.Helper()
	all, err := st.Sinks()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Name == sink {
			return s
		}
	}
	return state.SinkStats{Name: sink}
}

// TestSinkFaults runs one engine with a healthy webhook sink next to one
// that hangs, one that is slow, one that flaps, two that rate-limit with
// Retry-After (one short enough for the sink's in-process retry, one long
// enough to go back to the outbox) and one that closes the connection in the
// middle of its answer. The healthy sink must get every lead promptly while
// the hanging one holds its connections; the hanging sink's attempts must
// end at its timeout, never more than its concurrency at once, and its leads
// must stay queued; every other sink must get every lead exactly once, never
// sooner than Retry-After asked; and once the hanging sink answers again it
// gets everything too. Nothing is dead, nothing is lost.
func TestSinkFaults(t *testing.T) {
	const n = 50
	stop := make(chan struct{})
	var hangRecovered atomic.Bool
	ok := newFaultPeer(t, func(w http.ResponseWriter, _ *http.Request, _, _ int) bool {
		w.WriteHeader(http.StatusNoContent)
		return true
	})
	hang := newFaultPeer(t, func(w http.ResponseWriter, r *http.Request, _, _ int) bool {
		if hangRecovered.Load() {
			w.WriteHeader(http.StatusOK)
			return true
		}
		select { // never answers; notices only that the client went away
		case <-r.Context().Done():
		case <-stop:
		}
		return false
	})
	t.Cleanup(func() { close(stop) }) // before the servers close: LIFO
	slow := newFaultPeer(t, func(w http.ResponseWriter, _ *http.Request, _, _ int) bool {
		time.Sleep(100 * time.Millisecond)
		w.WriteHeader(http.StatusOK)
		return true
	})
	flap := newFaultPeer(t, func(w http.ResponseWriter, _ *http.Request, _, n int) bool {
		if n%2 == 1 {
			http.Error(w, "flapping", http.StatusServiceUnavailable)
			return false
		}
		w.WriteHeader(http.StatusOK)
		return true
	})
	// The first attempt of the first few ids to arrive is refused with
	// Retry-After; everything else is taken.
	limited := func(after string, first int) (*faultPeer, *atomic.Int64) {
		var throttled atomic.Int64
		return newFaultPeer(t, func(w http.ResponseWriter, _ *http.Request, try, _ int) bool {
			if try == 1 && throttled.Add(1) <= int64(first) {
				w.Header().Set("Retry-After", after)
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return false
			}
			w.WriteHeader(http.StatusOK)
			return true
		}), &throttled
	}
	rl1, _ := limited("1", 4) // the sink waits in process (≤ 1 s)
	rl2, _ := limited("2", 2) // back to the outbox: the dispatcher waits
	cut := newFaultPeer(t, func(w http.ResponseWriter, _ *http.Request, try, _ int) bool {
		if try > 1 {
			w.WriteHeader(http.StatusOK)
			return true
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Le") // and hang up mid-header
		buf.Flush()
		conn.Close()
		return false
	})

	hangSink := &timedSink{Sink: faultWebhook(t, "hang", hang.srv.URL)}
	hangPolicy := lsync.Policy{Concurrency: 2, Timeout: 300 * time.Millisecond, BackoffInitial: 5 * time.Millisecond,
		BackoffMax: 20 * time.Millisecond, MaxAttempts: 1000, MaxAge: time.Hour}
	rlPolicy := fast
	rlPolicy.Timeout, rlPolicy.BackoffMax = 3*time.Second, 5*time.Second // Retry-After is capped at BackoffMax
	// Sinks that answer (slowly or not) get a timeout no loaded CI machine
	// reaches: an attempt that timed out after the peer's 2xx would be
	// delivered again (at least once, by design), and exactlyOnce below
	// would count a timing accident as a duplicate.
	patient := fast
	patient.Timeout = 20 * time.Second
	peers := map[string]*faultPeer{"ok": ok, "hang": hang, "slow": slow, "flap": flap, "rl1": rl1, "rl2": rl2, "cut": cut}
	h := start(t, []lsync.SinkSpec{
		{Name: "ok", Sink: faultWebhook(t, "ok", ok.srv.URL), Delivery: patient},
		{Name: "hang", Sink: hangSink, Delivery: hangPolicy},
		{Name: "slow", Sink: faultWebhook(t, "slow", slow.srv.URL), Delivery: patient},
		{Name: "flap", Sink: faultWebhook(t, "flap", flap.srv.URL), Delivery: patient},
		{Name: "rl1", Sink: faultWebhook(t, "rl1", rl1.srv.URL), Delivery: rlPolicy},
		{Name: "rl2", Sink: faultWebhook(t, "rl2", rl2.srv.URL), Delivery: rlPolicy},
		{Name: "cut", Sink: faultWebhook(t, "cut", cut.srv.URL), Delivery: patient},
	}, nil)

	began := time.Now()
	var contacts []string
	for i := range n {
		c := fmt.Sprint("fault-", i)
		contacts = append(contacts, c)
		b := hemnet.Sample(c)
		if code, m := post(t, h.url+"/webhooks/hemnet", b, signed(b)); code != 200 || m["status"] != "accepted" {
			t.Fatalf("post %d: %d %v", i, code, m)
		}
	}

	// The healthy sink flows while the hanging one holds its slots.
	ok.waitAll(t, "ok", deliveryIDsOf(contacts, "ok"), 5*time.Second)
	t.Logf("healthy sink got %d leads %s after the first post", n, time.Since(began).Round(time.Millisecond))
	if hang.delivered() != 0 {
		t.Fatal("the hanging sink answered")
	}

	// The hanging sink's leads are queued and rescheduled, not lost.
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, _, err := h.store.Due("hang", time.Now().Add(24*time.Hour), 10*n, nil)
		if err != nil {
			t.Fatal(err)
		}
		retried, why := 0, ""
		for _, e := range entries {
			if e.Attempt > 0 && e.LastError != "" {
				retried++
				why = e.LastError
			}
		}
		if len(entries) != n {
			t.Fatalf("hanging sink has %d queued entries, want %d", len(entries), n)
		}
		if retried >= 4 {
			if !strings.Contains(why, "deadline") && !strings.Contains(why, "timeout") {
				t.Errorf("hanging sink: last error %q does not say it timed out", why)
			}
			t.Logf("hanging sink: %d entries rescheduled, e.g. %q", retried, why)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hanging sink: %d entries rescheduled after a failed attempt, want several", retried)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if q := sinkQueue(t, h.store, "hang"); q.Pending != n || q.Dead != 0 {
		t.Fatalf("hanging sink queue = %+v, want %d pending, none dead", q, n)
	}
	calls, maxIn, maxTook := hangSink.stats()
	if maxIn > hangPolicy.Concurrency {
		t.Errorf("hanging sink had %d attempts at once, want at most %d", maxIn, hangPolicy.Concurrency)
	}
	if maxTook > hangPolicy.Timeout+500*time.Millisecond {
		t.Errorf("an attempt on the hanging sink took %s, timeout %s", maxTook, hangPolicy.Timeout)
	}
	t.Logf("hanging sink: %d attempts, at most %d at once, longest %s", calls, maxIn, maxTook.Round(time.Millisecond))

	// Every other misbehaving sink gets everything.
	for _, name := range []string{"slow", "flap", "rl1", "rl2", "cut"} {
		peers[name].waitAll(t, name, deliveryIDsOf(contacts, name), 15*time.Second)
	}
	// Then the hanging sink comes back and gets everything too.
	hangRecovered.Store(true)
	hang.waitAll(t, "hang", deliveryIDsOf(contacts, "hang"), 10*time.Second)

	// Retry-After was honoured, measured at the receiver.
	for name, want := range map[string]time.Duration{"rl1": time.Second, "rl2": 2 * time.Second} {
		g := peers[name].gaps()
		if len(g) == 0 {
			t.Errorf("sink %s: no delivery was retried", name)
		}
		var ds []time.Duration
		for id, d := range g {
			ds = append(ds, d)
			if d < want {
				t.Errorf("sink %s: %s retried %s after a 429 with Retry-After %s", name, id, d, want)
			}
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		t.Logf("sink %s: retries after 429 came %v later", name, ds)
	}
	// A connection cut mid-answer was retried.
	for id := range deliveryIDsOf(contacts, "cut") {
		if tries := cut.triesOf(id); tries < 2 {
			t.Errorf("sink cut: %s arrived %d times, want a cut attempt and a retry", id, tries)
		}
	}

	// Exactly once per delivery id, nothing dead, nothing left queued.
	deadline = time.Now().Add(5 * time.Second)
	for name := range peers {
		for {
			q := sinkQueue(t, h.store, name)
			if q.Pending == 0 && q.Dead == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("sink %s queue = %+v, want empty", name, q)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(100 * time.Millisecond) // a repeat would show here
	for name, p := range peers {
		p.exactlyOnce(t, name, deliveryIDsOf(contacts, name))
	}
	t.Logf("all sinks done %s after the first post", time.Since(began).Round(time.Millisecond))
}

// TestDuplicateStorm posts one signed event 1,000 times at once: exactly one
// request is accepted, the rest are duplicates of the same event, and each
// sink gets one delivery.
func TestDuplicateStorm(t *testing.T) {
	const n = 1000
	recA, recB := newRecorder(), newRecorder()
	h := start(t, []lsync.SinkSpec{{Name: "a", Sink: recA, Delivery: fast}, {Name: "b", Sink: recB, Delivery: fast}}, nil)
	body := hemnet.Sample("storm")
	hdr := signed(body)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: n, DisableCompression: true}}
	defer client.CloseIdleConnections()

	var (
		wg     stdsync.WaitGroup
		mu     stdsync.Mutex
		status = map[string]int{}
		events = map[string]int{}
		leads  = map[string]int{}
		gate   = make(chan struct{})
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			req, _ := http.NewRequest(http.MethodPost, h.url+"/webhooks/hemnet", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Errorf("post: %v", err)
				return
			}
			defer resp.Body.Close()
			var m struct {
				Status  string `json:"status"`
				EventID string `json:"event_id"`
				LeadID  string `json:"lead_id"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
				t.Errorf("answer %d: %+v (%v)", resp.StatusCode, m, err)
				return
			}
			mu.Lock()
			status[m.Status]++
			events[m.EventID]++
			if m.LeadID != "" {
				leads[m.LeadID]++
			}
			mu.Unlock()
		}()
	}
	began := time.Now()
	close(gate)
	wg.Wait()
	t.Logf("%d concurrent posts answered in %s", n, time.Since(began).Round(time.Millisecond))
	if status["accepted"] != 1 || status["duplicate"] != n-1 || len(events) != 1 || len(leads) != 1 {
		t.Fatalf("answers %v, event ids %v, lead ids %v; want one accepted, %d duplicates of one event",
			status, events, leads, n-1)
	}
	for _, r := range []*recorder{recA, recB} {
		d := r.wait(t, 1)[0]
		if d.Lead.Source.EntityID != "storm" {
			t.Fatalf("delivered %s", d.Lead.Source.EntityID)
		}
	}
	select {
	case d := <-recA.arrived:
		t.Fatalf("sink a got %s again", d.ID)
	case d := <-recB.arrived:
		t.Fatalf("sink b got %s again", d.ID)
	case <-time.After(200 * time.Millisecond):
	}
	st, err := h.eng.Status()
	if err != nil || len(st.Sources) != 1 || st.Sources[0].Accepted != 1 || st.Sources[0].Duplicates != n-1 {
		t.Fatalf("status = %+v, %v; want 1 accepted, %d duplicates", st.Sources, err, n-1)
	}
	// The duplicates are in the store: a stopped daemon's status shows them too.
	if ss, err := lsync.StoreStatus(h.store, time.Now()); err != nil || len(ss.Sources) != 1 || ss.Sources[0].Duplicates != n-1 {
		t.Fatalf("store status = %+v, %v; want %d duplicates", ss, err, n-1)
	}
	for _, name := range []string{"a", "b"} {
		deadline := time.Now().Add(5 * time.Second)
		for q := sinkQueue(t, h.store, name); q.Pending != 0 || q.Dead != 0; q = sinkQueue(t, h.store, name) {
			if time.Now().After(deadline) {
				t.Fatalf("sink %s queue = %+v after its one delivery", name, q)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
