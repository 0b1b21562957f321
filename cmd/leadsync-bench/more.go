package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/hemnet"
	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/sync/lead"
)

// more runs the rest of the suite: receive → delivered latency, the drain of
// a large backlog, and intake, start-up and memory with a large store.
func (b *bench) more() error {
	if err := b.latency(); err != nil {
		return err
	}
	if err := b.drain(); err != nil {
		return err
	}
	return b.largeStore()
}

// receiver is a webhook sink that answers at once and records, per contact
// id, when the lead arrived.
type receiver struct {
	mu      sync.Mutex
	arrived map[string]time.Time
	n       atomic.Int64
}

func newReceiver() (*receiver, *httptest.Server) {
	r := &receiver{arrived: map[string]time.Time{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var l struct {
			Source struct {
				EntityID string `json:"entity_id"`
			} `json:"source"`
		}
		json.Unmarshal(body, &l)
		now := time.Now()
		r.mu.Lock()
		r.arrived[l.Source.EntityID] = now
		r.mu.Unlock()
		r.n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	return r, srv
}

// latency sends at a steady rate, then at saturation, and reports the time
// from sending a webhook to its lead arriving at the sink.
func (b *bench) latency() error {
	rec, srv := newReceiver()
	defer srv.Close()
	d, err := b.startDaemon("", nil, srv.URL)
	if err != nil {
		return err
	}
	defer d.stop()
	fmt.Println("Receive → delivered latency (webhook sink answering at once)")
	for _, pt := range []struct {
		label string
		rate  int // per second; 0 = saturation (64 connections)
	}{{"steady 200/s", 200}, {"saturation, 64 conns", 0}} {
		sent := map[string]time.Time{}
		var mu sync.Mutex
		note := func(id string, t time.Time) { mu.Lock(); sent[id] = t; mu.Unlock() }
		if pt.rate > 0 {
			b.steady(d, pt.rate, b.o.duration, note)
		} else {
			b.saturate(d, 64, b.o.duration, note)
		}
		deadline := time.Now().Add(60 * time.Second)
		for int(rec.n.Load()) < len(sent) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		var lat []time.Duration
		rec.mu.Lock()
		for id, t0 := range sent {
			if t1, ok := rec.arrived[id]; ok {
				lat = append(lat, t1.Sub(t0))
			}
		}
		rec.mu.Unlock()
		slices.Sort(lat)
		r := result{lat: lat}
		fmt.Printf("  %-22s %6d leads  p50 %s  p99 %s  missing %d\n", pt.label, len(sent), ms(r.pct(.5)), ms(r.pct(.99)),
			len(sent)-len(lat))
		rec.mu.Lock()
		clear(rec.arrived)
		rec.mu.Unlock()
		rec.n.Store(0)
	}
	fmt.Println()
	return nil
}

// steady sends rate requests per second over one connection each tick.
func (b *bench) steady(p *proc, rate int, d time.Duration, note func(string, time.Time)) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for now := range tick.C {
		if now.After(end) {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			id := benchID(b.seq.Add(1))
			t0 := time.Now()
			if code, err := b.post(p, id); err == nil && code == 200 {
				note(id, t0)
			}
		}()
	}
	wg.Wait()
}

// saturate sends from conns clients as fast as they are answered.
func (b *bench) saturate(p *proc, conns int, d time.Duration, note func(string, time.Time)) {
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				id := benchID(b.seq.Add(1))
				t0 := time.Now()
				if code, err := b.post(p, id); err == nil && code == 200 {
					note(id, t0)
				}
			}
		}()
	}
	wg.Wait()
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}

func (b *bench) post(p *proc, id string) (int, error) {
	req, err := hemnet.SignedRequest(p.url, []byte(benchKey), benchBody(id), time.Now())
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// populate commits n Hemnet leads straight into the store in dir, through
// the same Commit as intake, queued for sinks.
func populate(dir string, n int, sinks []string) error {
	st, err := state.Open(dir, state.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	src, err := hemnet.New(hemnet.Config{Name: "hemnet", Keys: [][]byte{[]byte(benchKey)}})
	if err != nil {
		return err
	}
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 128 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) || firstErr.Load() != nil {
					return
				}
				body := benchBody(fmt.Sprintf("stored-%09d", i))
				req := &providers.Request{Source: "hemnet", Body: body, ReceivedAt: time.Now()}
				evs, err := src.Parse(req)
				if err != nil {
					firstErr.Store(err)
					return
				}
				in := &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: body, Received: req.ReceivedAt.UnixNano()}}
				for _, ev := range evs {
					lj, _ := ev.Lead.Marshal()
					in.Items = append(in.Items, state.Item{Event: ev, LeadJSON: lj, Sinks: sinks, Via: lead.ViaWebhook})
				}
				if _, err := st.Commit(in); err != nil {
					firstErr.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	return nil
}

// drain queues leads for a sink, then starts the daemon with the sink up and
// measures how fast the backlog empties.
func (b *bench) drain() error {
	dir, _ := os.MkdirTemp(b.dir, "state")
	t0 := time.Now()
	if err := populate(dir, b.o.drainN, []string{"hook"}); err != nil {
		return err
	}
	fmt.Printf("Drain: %d pending leads (queued in %s), sink answering at once\n", b.o.drainN, time.Since(t0).Round(time.Second))
	rec, srv := newReceiver()
	defer srv.Close()
	start := time.Now()
	var env []string
	if p := os.Getenv("BENCH_PROFILE"); p != "" {
		env = append(env, "LEADSYNC_CPUPROFILE="+p)
	}
	d, err := b.startDaemon(dir, env, srv.URL)
	if err != nil {
		return err
	}
	defer d.stop()
	deadline := time.Now().Add(10 * time.Minute)
	for int(rec.n.Load()) < b.o.drainN && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	fmt.Printf("  delivered %d in %s: %.0f leads/s (start-up included)\n\n", rec.n.Load(), took.Round(time.Millisecond),
		float64(rec.n.Load())/took.Seconds())
	return nil
}

// largeStore measures start-up, memory and intake with many events stored.
func (b *bench) largeStore() error {
	dir, _ := os.MkdirTemp(b.dir, "state")
	t0 := time.Now()
	if err := populate(dir, b.o.million, nil); err != nil {
		return err
	}
	fi, _ := os.Stat(filepath.Join(dir, state.FileName))
	fmt.Printf("Large store: %d events stored (in %s, file %d MiB)\n", b.o.million, time.Since(t0).Round(time.Second), fi.Size()>>20)
	start := time.Now()
	d, err := b.startDaemon(dir, nil, "")
	if err != nil {
		return err
	}
	defer d.stop()
	fmt.Printf("  start-up to ready: %s; RSS then: %s\n", time.Since(start).Round(time.Millisecond), rss(d.cmd.Process.Pid))
	ref, err := b.startReference()
	if err != nil {
		return err
	}
	defer ref.stop()
	fresh, err := b.startDaemon("", nil, "")
	if err != nil {
		return err
	}
	defer fresh.stop()
	big := b.load(d, 64, b.o.duration)
	empty := b.load(fresh, 64, b.o.duration)
	fmt.Printf("  intake at 64 conns: %.0f req/s with the large store, %.0f with an empty one: %.0f%%\n",
		big.rps(), empty.rps(), 100*big.rps()/empty.rps())
	fmt.Printf("  RSS right after the run: %s\n", rss(d.cmd.Process.Pid))
	time.Sleep(11 * time.Second) // the daemon hands read file pages back every 10 s
	fmt.Printf("  RSS 11 s later: %s\n\n", rss(d.cmd.Process.Pid))
	return nil
}

// rss reads a process's resident set size, and how much of it is
// anonymous memory (heap, stacks) and how much the pages of files it maps
// (bbolt's mmap of the database: page cache the kernel can reclaim).
func rss(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	f := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			f[k] = strings.TrimSpace(v)
		}
	}
	return fmt.Sprintf("%s (anonymous %s, file pages %s)", f["VmRSS"], f["RssAnon"], f["RssFile"])
}
