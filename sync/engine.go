// Package sync is the leadsync engine: webhook intake, the dispatch of the
// outbox to sinks, reload, and reconciliation, all around one state.Store.
//
// The name shadows the standard library's sync. Inside this directory the
// standard library is imported as stdsync; everywhere else import this
// package as
//
//	lsync "github.com/leadsync/leadsync/sync"
//
// The engine never touches signals or flags: cmd/leadsync turns those into a
// context, an Options and Reload calls, so tests drive the engine exactly as
// the daemon does.
package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"path"
	"path/filepath"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/state"
)

// SourceSpec is one webhook source, built and ready.
type SourceSpec struct {
	Source providers.Source
	// Allow reports whether a client address may post to this source; nil
	// allows every address.
	Allow func(netip.Addr) bool
	// Reconcile is the source's cron schedule for polling ("" = never); the
	// source must implement providers.Poller.
	Reconcile string
	// Overlap is how far before the stored cursor each poll starts.
	Overlap time.Duration

	// series are the source's metric series that every accepted webhook
	// touches, looked up once by the wiring rather than per request
	// (WithLabelValues hashes the labels and takes a shared lock each time).
	series *sourceSeries
}

// SinkSpec is one sink, built and ready, with its routing and delivery policy.
type SinkSpec struct {
	Name     string
	Type     string
	Sink     sinks.Sink
	Match    Match
	Delivery Policy
}

// Policy is how a sink's deliveries are paced and when they give up.
type Policy struct {
	Concurrency    int           // attempts in flight at once
	Timeout        time.Duration // per attempt
	BackoffInitial time.Duration // first retry waits up to this (full jitter)
	BackoffMax     time.Duration // retries wait at most this; caps Retry-After too
	MaxAttempts    int           // then dead letter
	MaxAge         time.Duration // since the lead was queued; then dead letter
}

// Options configure an Engine.
type Options struct {
	Store          *state.Store
	Sources        []SourceSpec
	Sinks          []SinkSpec
	MaxBody        int64          // bytes; larger bodies get 413
	TrustedProxies []netip.Prefix // X-Forwarded-For is believed only from these
	Logger         *slog.Logger
	Metrics        *Metrics // nil: a private registry of its own
	// Drain bounds how long shutdown waits for deliveries in flight.
	Drain time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnReady is called once the listener serves and dispatch runs.
	OnReady func()
	// OnStopping is called when shutdown begins.
	OnStopping func()
	// Version is reported by status.
	Version string
	// Retention: raw requests, events, delivered leads and dead letters
	// older than this are pruned hourly; 0 keeps everything.
	Retention time.Duration
	// The HTTP server's limits against slow or idle clients (slowloris);
	// zero means the default in brackets.
	ReadHeaderTimeout time.Duration // [10s] request line and headers
	ReadTimeout       time.Duration // [30s] the whole request, body included
	WriteTimeout      time.Duration // [ReadTimeout + 10s] from the end of the headers to the end of the answer (longer than ReadTimeout, so that a body that does not arrive in time is answered 408)
	IdleTimeout       time.Duration // [120s] a keep-alive connection between requests
}

// wiring is what a reload replaces, swapped atomically: a request sees
// either the old wiring or the new, never a mix.
type wiring struct {
	sources map[string]*SourceSpec
	sinks   []SinkSpec // routing order
	maxBody int64
	trusted []netip.Prefix
}

// Engine receives webhooks and delivers leads. Create it with New and run it
// with Run.
type Engine struct {
	o         Options
	log       *slog.Logger
	now       func() time.Time
	metrics   *Metrics
	wiring    atomic.Pointer[wiring]
	draining  atomic.Bool
	retention atomic.Int64 // time.Duration; see pruneLoop
	counters  counters
	tail      hub
	started   time.Time

	mu         stdsync.Mutex // guards disp and the run state below
	disp       map[string]*dispatcher
	running    bool
	dctx       context.Context // dispatch loops
	deliverCtx context.Context // delivery attempts; cancelled at the drain deadline
	loops      stdsync.WaitGroup
	closers    stdsync.WaitGroup // sinks replaced by a reload, closing once idle
	recon      *reconciler
}

// New checks o and builds an engine. Nothing runs until Run.
func New(o Options) (*Engine, error) {
	if o.Store == nil {
		return nil, errors.New("engine: no store")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Drain <= 0 {
		o.Drain = 10 * time.Second
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	e := &Engine{o: o, log: o.Logger, now: o.Now, metrics: o.Metrics, disp: map[string]*dispatcher{}}
	e.retention.Store(int64(o.Retention))
	w, err := e.newWiring(o.Sources, o.Sinks, o.MaxBody, o.TrustedProxies)
	if err != nil {
		return nil, err
	}
	for i := range w.sinks {
		e.disp[w.sinks[i].Name] = newDispatcher(e, w.sinks[i])
	}
	e.wiring.Store(w)
	e.rememberFiles(w)
	e.recon = newReconciler(e)
	o.Metrics.watchOutbox(o.Store)
	return e, nil
}

func (e *Engine) newWiring(srcs []SourceSpec, snks []SinkSpec, maxBody int64, trusted []netip.Prefix) (*wiring, error) {
	if maxBody <= 0 {
		maxBody = 1 << 20
	}
	w := &wiring{sources: map[string]*SourceSpec{}, sinks: snks, maxBody: maxBody, trusted: trusted}
	for i := range srcs {
		s := &srcs[i]
		if _, dup := w.sources[s.Source.Name()]; dup {
			return nil, fmt.Errorf("engine: source %q twice", s.Source.Name())
		}
		w.sources[s.Source.Name()] = s
	}
	names := map[string]bool{}
	list := make([]string, 0, len(snks))
	for _, s := range snks {
		if names[s.Name] {
			return nil, fmt.Errorf("engine: sink %q twice", s.Name)
		}
		names[s.Name] = true
		list = append(list, s.Name)
	}
	if err := e.o.Store.EnsureSinks(list); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	// Last, so that a wiring refused above leaves no series behind. (A
	// configured source's series show in /metrics from the start, at zero.)
	for name, s := range w.sources {
		s.series = e.metrics.sourceSeries(name)
	}
	return w, nil
}

// Handler serves the webhook endpoints, health checks and metrics.
func (e *Engine) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/webhooks/{source}", e.serveWebhook)
	// Any other path under /webhooks/ names no source: the JSON 404 a
	// source that does not exist gets, not the mux's plain-text one.
	noSource := func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, answer{Status: "error", Reason: "unknown source"})
	}
	mux.HandleFunc("/webhooks/", noSource)
	mux.HandleFunc("/webhooks", noSource) // else the mux redirects it to /webhooks/

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", e.serveReady)
	mux.Handle("GET /metrics", e.metrics.Handler())
	// The mux answers a path that is not clean (//webhooks/x, a trailing
	// slash, /./) with a redirect, which many webhook senders do not follow,
	// or follow as a GET. A provider's URL with a doubled slash is an easy
	// mistake: such a webhook path is served as its clean form instead.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p != "" {
			if cp := path.Clean(p); cp != p && strings.HasPrefix(cp, "/webhooks/") {
				u := *r.URL
				u.Path, u.RawPath = cp, ""
				r2 := *r
				r2.URL = &u
				r = &r2
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// retryAfter503 is the Retry-After (seconds) of every 503 leadsync answers.
const retryAfter503 = "5"

func (e *Engine) serveReady(w http.ResponseWriter, _ *http.Request) {
	if e.draining.Load() {
		// As the webhooks' answer while draining: a balancer or a
		// provider's client learns to come back, on a new connection.
		w.Header().Set("Retry-After", retryAfter503)
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Run serves ln and dispatches the outbox until ctx is done, then drains:
// readyz and new webhooks answer 503, requests in flight finish their commits
// and get their answers, deliveries in flight get up to Options.Drain to
// finish (then are cancelled and stay queued), sinks are closed, and Run
// returns. The caller closes the store afterwards.
func (e *Engine) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           e.Handler(),
		ReadHeaderTimeout: orDefault(e.o.ReadHeaderTimeout, 10*time.Second),
		ReadTimeout:       orDefault(e.o.ReadTimeout, 30*time.Second),
		WriteTimeout:      orDefault(e.o.WriteTimeout, orDefault(e.o.ReadTimeout, 30*time.Second)+10*time.Second),
		IdleTimeout:       orDefault(e.o.IdleTimeout, 120*time.Second),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelDebug),
	}
	dctx, stopDispatch := context.WithCancel(context.Background())
	deliverCtx, cancelDeliveries := context.WithCancel(context.Background())
	defer cancelDeliveries()
	e.mu.Lock()
	e.dctx, e.deliverCtx, e.running, e.started = dctx, deliverCtx, true, e.now()
	for _, d := range e.disp {
		e.startLoop(d)
	}
	e.mu.Unlock()
	e.recon.start(e.wiring.Load())

	pruneDone := make(chan struct{})
	go func() { defer close(pruneDone); e.pruneLoop(dctx) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if e.o.OnReady != nil {
		e.o.OnReady()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("serve: %w", err)
	}

	e.draining.Store(true)
	if e.o.OnStopping != nil {
		e.o.OnStopping()
	}
	e.log.Info("draining", "deadline", e.o.Drain.String())
	deadline := time.Now().Add(e.o.Drain)
	// The listener stays open while deliveries drain: new webhooks and
	// /readyz answer 503 meanwhile (a provider retries it, a health check
	// sees the drain), rather than a refused connection.
	e.recon.halt()
	e.mu.Lock()
	e.running = false
	e.mu.Unlock()
	stopDispatch()
	<-pruneDone
	e.waitLoops(deadline, cancelDeliveries)
	// Requests in flight get their answers: those that passed the drain
	// check before it was set finish their commits (milliseconds), the rest
	// answer 503 at once. The grace is the server's own, not what is left of
	// the drain, which slow deliveries may have used up: an answer is never
	// cut off after its commit.
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	if serr := srv.Shutdown(sctx); serr != nil {
		e.log.Warn("http shutdown", "err", serr)
		srv.Close()
	}
	cancel()
	e.mu.Lock()
	for _, d := range e.disp {
		d.closeSink()
	}
	e.mu.Unlock()
	e.closers.Wait()
	return err
}

// shutdownGrace bounds how long, once deliveries have drained, the HTTP
// server waits for the requests in flight to be answered.
const shutdownGrace = 5 * time.Second

// orDefault returns d, or def when d is not positive.
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// waitLoops waits for every dispatch loop and its attempts; at the deadline
// it cancels the attempts still in flight (they stay queued).
func (e *Engine) waitLoops(deadline time.Time, cancelDeliveries func()) {
	done := make(chan struct{})
	go func() { e.loops.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(time.Until(deadline)):
	}
	e.log.Warn("deliveries still in flight at the drain deadline: cancelling them; they stay queued")
	cancelDeliveries()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		// A sink that ignores its context must not hold the daemon forever:
		// its outcome will fail to commit and the entry stays queued.
		e.log.Error("a sink ignored cancellation; stopping without it")
	}
}

// startLoop runs d's dispatch loop under the engine; e.mu must be held.
func (e *Engine) startLoop(d *dispatcher) {
	ctx, cancel := context.WithCancel(e.dctx)
	d.stopLoop = cancel
	e.loops.Add(1)
	go func() {
		defer e.loops.Done()
		d.run(ctx, e.deliverCtx)
	}()
}

// dispatcher returns the dispatcher of sink name, or nil.
func (e *Engine) dispatcher(name string) *dispatcher {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.disp[name]
}

// Reload swaps in newly built sources and sinks: requests from now on see the
// new wiring; a sink that stays (by name) keeps its queue and in-flight
// bookkeeping, and its attempts in flight finish on the old instance, which
// is closed once idle; a removed sink stops dispatching and is closed after
// its attempts end, its pending entries staying in the store (status reports
// them) until it comes back or they are dropped. On error nothing changes
// and the caller keeps ownership of b.
func (e *Engine) Reload(b *Built, maxBody int64) error {
	w, err := e.newWiring(b.Sources, b.Sinks, maxBody, b.TrustedProxies)
	if err != nil {
		e.metrics.reloads.WithLabelValues("failure").Inc()
		return err
	}
	e.mu.Lock()
	keep := map[string]bool{}
	for _, s := range w.sinks {
		keep[s.Name] = true
		if d := e.disp[s.Name]; d != nil {
			d.swap(s)
			continue
		}
		d := newDispatcher(e, s)
		e.disp[s.Name] = d
		if e.running {
			e.startLoop(d)
		}
	}
	for name, d := range e.disp {
		if !keep[name] {
			delete(e.disp, name)
			d.retire()
		}
	}
	e.wiring.Store(w)
	e.mu.Unlock()
	e.rememberFiles(w)
	e.recon.start(w)
	e.metrics.reloads.WithLabelValues("success").Inc()
	e.metrics.reloadTime.SetToCurrentTime()
	return nil // kept sinks were poked by swap; new loops look for work as they start
}

// counters are in-memory tallies that the store does not keep: a rejected
// request never reaches it (counting one there would let anyone make the
// daemon write and sync by posting garbage).
type counters struct {
	mu       stdsync.Mutex
	rejected map[string]int64 // by source
}

func (c *counters) reject(source string) {
	c.mu.Lock()
	if c.rejected == nil {
		c.rejected = map[string]int64{}
	}
	c.rejected[source]++
	c.mu.Unlock()
}

// snapshot returns a copy of the rejections by source.
func (c *counters) snapshot() (rejected map[string]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.rejected)
}

// NoteReloadFailure counts a reload refused before it reached the engine
// (a config with errors).
func (e *Engine) NoteReloadFailure() { e.metrics.reloads.WithLabelValues("failure").Inc() }

// Store is the engine's store.
func (e *Engine) Store() *state.Store { return e.o.Store }

// pruneLoop applies the retention a minute after start and hourly after
// that, until ctx is done. Prune works in small transactions, so intake
// interleaves with it.
func (e *Engine) pruneLoop(ctx context.Context) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.prune(time.Duration(e.retention.Load())) // 0 keeps everything
			t.Reset(time.Hour)
		}
	}
}

// SetRetention changes the retention from the next hourly prune on (a
// reload calls it); 0 keeps everything.
func (e *Engine) SetRetention(d time.Duration) { e.retention.Store(int64(d)) }

// fileSink is a sink that keeps leads in a file of its own (the JSONL file).
type fileSink interface {
	sinks.Eraser
	Path() string
}

// rememberFiles records in the store the file of each of w's file sinks, so
// that erase still finds a person's leads there once the sink is removed
// from the config (its file stays where it was).
func (e *Engine) rememberFiles(w *wiring) {
	for _, s := range w.sinks {
		f, ok := s.Sink.(fileSink)
		if !ok {
			continue
		}
		p, err := filepath.Abs(f.Path())
		if err == nil {
			err = e.o.Store.RememberFile(p)
		}
		if err != nil {
			e.log.Warn("could not record a file sink's path for erase", "sink", s.Name, "err", err)
		}
	}
}
