// Package sync is the leadsync engine: webhook intake, the dispatch of the
// outbox to sinks, and (later) reconciliation, all around one state.Store.
//
// The name shadows the standard library's sync. Inside this directory
// `sync.` means the standard library (imported as stdsync where both are
// needed); everywhere else import this package as
//
//	lsync "github.com/leadsync/leadsync/sync"
//
// The engine never touches signals or flags: cmd/leadsync turns those into a
// context and an Options, so tests drive the engine exactly as the daemon
// does.
package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
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
}

// SinkSpec is one sink, built and ready, with its routing and delivery policy.
type SinkSpec struct {
	Name     string
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
	// Drain bounds how long shutdown waits for deliveries in flight.
	Drain time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnReady is called once the listener serves and dispatch runs.
	OnReady func()
	// OnStopping is called when shutdown begins.
	OnStopping func()
}

// Engine receives webhooks and delivers leads. Create it with New and run it
// with Run.
type Engine struct {
	o        Options
	log      *slog.Logger
	now      func() time.Time
	sources  map[string]*SourceSpec
	disp     map[string]*dispatcher
	draining atomic.Bool
	counters counters
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
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if o.Drain <= 0 {
		o.Drain = 10 * time.Second
	}
	e := &Engine{o: o, log: o.Logger, now: o.Now, sources: map[string]*SourceSpec{}, disp: map[string]*dispatcher{}}
	for i := range o.Sources {
		s := &o.Sources[i]
		if _, dup := e.sources[s.Source.Name()]; dup {
			return nil, fmt.Errorf("engine: source %q twice", s.Source.Name())
		}
		e.sources[s.Source.Name()] = s
	}
	names := make([]string, 0, len(o.Sinks))
	for i := range o.Sinks {
		s := &o.Sinks[i]
		if _, dup := e.disp[s.Name]; dup {
			return nil, fmt.Errorf("engine: sink %q twice", s.Name)
		}
		e.disp[s.Name] = newDispatcher(e, s)
		names = append(names, s.Name)
	}
	if err := o.Store.EnsureSinks(names); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	return e, nil
}

// Handler serves the webhook endpoints and health checks.
func (e *Engine) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/webhooks/{source}", e.serveWebhook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", e.serveReady)
	return mux
}

func (e *Engine) serveReady(w http.ResponseWriter, _ *http.Request) {
	if e.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Run serves ln and dispatches the outbox until ctx is done, then drains:
// readyz and new webhooks answer 503, requests in flight finish their commits
// and get their answers, deliveries in flight get up to Options.Drain to
// finish (then are cancelled and stay queued), and Run returns. The caller
// closes the store afterwards.
func (e *Engine) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           e.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelDebug),
	}
	dctx, stopDispatch := context.WithCancel(context.Background())
	deliverCtx, cancelDeliveries := context.WithCancel(context.Background())
	var wg stdsync.WaitGroup
	for _, d := range e.disp {
		wg.Add(1)
		go func() { defer wg.Done(); d.run(dctx, deliverCtx) }()
	}
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
	sctx, cancel := context.WithDeadline(context.Background(), deadline)
	if serr := srv.Shutdown(sctx); serr != nil {
		e.log.Warn("http shutdown", "err", serr)
		srv.Close()
	}
	cancel()
	stopDispatch()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
		e.log.Warn("deliveries still in flight at the drain deadline: cancelling them; they stay queued")
		cancelDeliveries()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			// A sink that ignores its context must not hold the daemon
			// forever: its outcome will fail to commit and the entry stays
			// queued for the next start.
			e.log.Error("a sink ignored cancellation; stopping without it")
		}
	}
	cancelDeliveries()
	return err
}

// counters are in-memory tallies that the store does not keep (rejections
// never reach it).
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
