package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	stdsync "sync"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/sync/lead"
	"github.com/robfig/cron/v3"
)

// reconciler polls the sources that can be polled (Reapit) on their cron
// schedules, feeding every polled entity through the same commit as a
// webhook with via "reconcile". The version key makes a webhook and a poll of
// one change a single event, so a lead found here is one a webhook missed.
//
// A run never overlaps itself (per source); the cursor of each customer
// (the newest `modified` committed) is saved after each page, so a crash
// resumes where it stopped, and a page is re-read rather than skipped.
type reconciler struct {
	e    *Engine
	mu   stdsync.Mutex
	cron *cron.Cron
	ctx  context.Context
	stop func()
	runs map[string]*stdsync.Mutex // per source: a run never overlaps itself
	stat map[string]*ReconcileStatus
	wg   stdsync.WaitGroup

	// known are, per source whose customers: is empty (every customer),
	// the customers it polls: those that have sent a webhook, remembered
	// as a cursor in the store. Loaded from the store on first use.
	known map[string]map[string]bool
}

func newReconciler(e *Engine) *reconciler {
	ctx, cancel := context.WithCancel(context.Background())
	return &reconciler{e: e, ctx: ctx, stop: cancel, runs: map[string]*stdsync.Mutex{}, stat: map[string]*ReconcileStatus{}}
}

// start (re)schedules the pollable sources of w; a reload calls it again.
func (r *reconciler) start(w *wiring) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cron != nil {
		r.cron.Stop() // running jobs go on under r.ctx; new ones follow the new schedule
	}
	r.cron = cron.New(cron.WithParser(cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)))
	for name, spec := range w.sources {
		if spec.Reconcile == "" {
			continue
		}
		if _, err := r.cron.AddFunc(spec.Reconcile, func() { r.run(name, time.Time{}) }); err != nil {
			r.e.log.Error("reconcile schedule refused", "source", name, "err", err)
		}
	}
	r.cron.Start()
}

// halt stops scheduling and cancels runs in flight (their committed pages
// and cursors stay), then waits for them.
func (r *reconciler) halt() {
	r.mu.Lock()
	if r.cron != nil {
		r.cron.Stop()
	}
	r.mu.Unlock()
	r.stop()
	r.wg.Wait()
}

// RunResult is what one reconciliation run of a source did.
type RunResult struct {
	Source   string `json:"source"`
	Customer string `json:"customer"`
	Pages    int    `json:"pages"`
	Seen     int    `json:"seen"`
	Found    int    `json:"found_only_by_reconcile"`
	Error    string `json:"error,omitempty"`
}

// run polls every customer of source, from since when set (a backfill),
// else from each customer's cursor minus the overlap (now minus the overlap
// on the first run). It returns at once with an error if a run of source is
// already going on.
func (r *reconciler) run(source string, since time.Time) ([]RunResult, error) {
	spec := r.e.wiring.Load().sources[source]
	if spec == nil {
		return nil, fmt.Errorf("no source named %q", source)
	}
	poller, ok := spec.Source.(providers.Poller)
	if !ok {
		return nil, fmt.Errorf("source %q cannot be polled (provider %s)", source, spec.Source.Provider())
	}
	r.mu.Lock()
	lock := r.runs[source]
	if lock == nil {
		lock = &stdsync.Mutex{}
		r.runs[source] = lock
	}
	r.mu.Unlock()
	if !lock.TryLock() {
		return nil, fmt.Errorf("a reconciliation of %q is already running", source)
	}
	defer lock.Unlock()
	r.wg.Add(1)
	defer r.wg.Done()

	log := r.e.log.With("source", source)
	customers := poller.Customers()
	if len(customers) == 0 {
		var err error
		if customers, err = r.learned(source); err != nil {
			return nil, err
		}
		if len(customers) == 0 {
			log.Warn("reconcile: customers: is empty (every customer) and no customer has sent a webhook yet; nothing to poll (list customer ids in customers: to poll them before their first webhook)")
		}
	}
	var out []RunResult
	for i, cust := range customers {
		res, err := r.runCustomer(log.With("customer", cust), source, spec, poller, cust, since)
		out = append(out, res)
		if errors.Is(err, providers.ErrRateLimited) && i+1 < len(customers) {
			// The API's rate limit is the app's, not a customer's: the
			// rest wait for the next run, which resumes each from its own
			// cursor. (A 5xx may be one customer's data: the others go on.)
			log.Warn("reconcile: rate limited; the other customers wait for the next run", "skipped", len(customers)-i-1)
			for _, rest := range customers[i+1:] {
				r.e.metrics.reconcileRuns.WithLabelValues(source, "skipped").Inc()
				out = append(out, RunResult{Source: source, Customer: rest,
					Error: "skipped: the API was rate limiting; the next run resumes from the cursor (run a --since backfill again)"})
			}
			break
		}
	}
	return out, nil
}

func (r *reconciler) runCustomer(log *slog.Logger, source string, spec *SourceSpec, p providers.Poller, cust string, since time.Time) (RunResult, error) {
	res := RunResult{Source: source, Customer: cust}
	st := r.e.o.Store
	start := r.e.now()
	if since.IsZero() {
		cursor, err := st.Cursor(source, cust)
		if err != nil {
			res.Error = err.Error()
			return res, err
		}
		if cursor.IsZero() {
			cursor = start
		}
		since = cursor.Add(-spec.Overlap)
	}
	err := p.Poll(r.ctx, cust, since, func(pg providers.Page) error {
		res.Pages++
		res.Seen += len(pg.Events)
		r.e.metrics.reconcilePage.WithLabelValues(source).Inc()
		found, err := r.commitPage(log, source, pg)
		res.Found += found
		return err
	})
	result := "success"
	switch {
	case errors.Is(err, providers.ErrUnavailable):
		result = "unavailable"
		log.Warn("reconcile paused: the API is rate limiting or failing; resuming next run from the saved cursor", "err", err)
	case err != nil && r.ctx.Err() != nil:
		result = "interrupted"
	case err != nil:
		result = "failure"
		log.Error("reconcile failed", "err", err)
	}
	if err == nil {
		// A customer's first run that found nothing saved no cursor; the
		// next would start again from its own now − overlap, skipping
		// what changed between the two runs. The run looked at everything
		// up to its start: that is the cursor.
		if c, cerr := st.Cursor(source, cust); cerr == nil && c.IsZero() {
			err = st.SetCursor(source, cust, start)
			if err != nil {
				result = "failure"
				log.Error("reconcile failed", "err", fmt.Errorf("save cursor: %w", err))
			}
		}
	}
	if err != nil {
		res.Error = err.Error()
	}
	r.e.metrics.reconcileRuns.WithLabelValues(source, result).Inc()
	log.Info("reconcile run", "pages", res.Pages, "seen", res.Seen, "found_only_by_reconcile", res.Found, "result", result)
	r.note(source, cust, start, res)
	return res, err
}

// commitPage stores one page like a webhook and then moves the cursor. A
// crash between the two re-reads the page next time, which the version keys
// turn into duplicates: nothing is skipped and nothing delivered twice.
func (r *reconciler) commitPage(log *slog.Logger, source string, pg providers.Page) (int, error) {
	w := r.e.wiring.Load()
	in := &state.Incoming{Raw: state.RawRequest{Source: source, Body: pg.Raw, Received: r.e.now().UnixNano(),
		Header: map[string]string{"x-leadsync-via": lead.ViaReconcile}}}
	for _, ev := range pg.Events {
		in.Items = append(in.Items, itemOf(ev, w, lead.ViaReconcile))
	}
	found := 0
	if len(in.Items) > 0 {
		res, err := r.e.commit(in)
		if err != nil {
			return 0, fmt.Errorf("commit page: %w", err)
		}
		for _, x := range res {
			if x.Status == lead.StatusAccepted {
				found++
			}
		}
		var ss *sourceSeries
		if spec := w.sources[source]; spec != nil {
			ss = spec.series
		}
		r.e.committed(source, res, log, nil, ss)
		r.e.metrics.reconcileNew.WithLabelValues(source).Add(float64(found))
	}
	if !pg.MaxModified.IsZero() {
		if err := r.e.o.Store.SetCursor(source, custOf(pg), pg.MaxModified); err != nil {
			return found, fmt.Errorf("save cursor: %w", err)
		}
	}
	return found, nil
}

// custOf is the customer a page belongs to: every event of a page carries
// it in its lead.
func custOf(pg providers.Page) string {
	for _, ev := range pg.Events {
		if ev.Lead != nil && ev.Lead.Source.CustomerID != nil {
			return *ev.Lead.Source.CustomerID
		}
	}
	return ""
}

func (r *reconciler) note(source, cust string, at time.Time, res RunResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := source + "\x00" + cust
	s := r.stat[k]
	if s == nil {
		s = &ReconcileStatus{Source: source, Customer: cust}
		r.stat[k] = s
	}
	t := at.UTC()
	s.LastRun, s.LastError = &t, NullString(res.Error)
	s.Seen += int64(res.Seen)
	s.Found += int64(res.Found)
}

// learned are the customers of source that have sent a webhook (and so
// have a cursor), sorted.
func (r *reconciler) learned(source string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set, err := r.knownLocked(source)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

// knownLocked returns the known customers of source, loading them from the
// store's cursors the first time. r.mu is held.
func (r *reconciler) knownLocked(source string) (map[string]bool, error) {
	if set, ok := r.known[source]; ok {
		return set, nil
	}
	cursors, err := r.e.o.Store.Cursors()
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for c := range cursors[source] {
		set[c] = true
	}
	if r.known == nil {
		r.known = map[string]map[string]bool{}
	}
	r.known[source] = set
	return set, nil
}

// learn remembers the customers of a committed webhook whose source can be
// polled and polls every customer (customers: empty): the API has no list of
// the customers that installed the app, so the ones that send webhooks are
// the ones polled, on its schedule or by `reconcile --source`. A new
// customer gets a cursor at its first webhook, from which its first run
// starts (less the overlap). Other sources cost a type assertion.
func (r *reconciler) learn(src *SourceSpec, in *state.Incoming) {
	p, ok := src.Source.(providers.Poller)
	if !ok || len(p.Customers()) > 0 {
		return
	}
	name := src.Source.Name()
	for i := range in.Items {
		l := in.Items[i].Event.Lead
		if l == nil || l.Source.CustomerID == nil || *l.Source.CustomerID == "" { // a ping has no lead
			continue
		}
		cust := *l.Source.CustomerID
		r.mu.Lock()
		set, err := r.knownLocked(name)
		isNew := err == nil && !set[cust]
		if isNew {
			set[cust] = true
		}
		r.mu.Unlock()
		if err != nil {
			r.e.log.Warn("reconcile: could not read the known customers", "source", name, "err", err)
			return
		}
		if !isNew {
			continue
		}
		at := time.Unix(0, in.Raw.Received)
		if err := r.e.o.Store.SetCursor(name, cust, at); err != nil {
			r.mu.Lock()
			delete(set, cust) // the next webhook tries again
			r.mu.Unlock()
			r.e.log.Warn("reconcile: could not remember a new customer", "source", name, "customer", cust, "err", err)
			continue
		}
		r.e.log.Info("reconcile: new customer, polled from now on", "source", name, "customer", cust)
	}
}

// status adds what this run of the daemon knows of each customer (last
// run, its error, counts) to rows, the cursors StoreStatus read, and lists
// the customers that ran but have no cursor yet too.
func (r *reconciler) status(rows []ReconcileStatus) []ReconcileStatus {
	r.mu.Lock()
	by := map[string]ReconcileStatus{}
	for k, s := range r.stat {
		by[k] = *s
	}
	r.mu.Unlock()
	for _, row := range rows {
		k := row.Source + "\x00" + row.Customer
		s := by[k]
		s.Source, s.Customer, s.Cursor = row.Source, row.Customer, row.Cursor
		by[k] = s
	}
	out := make([]ReconcileStatus, 0, len(by))
	for _, s := range by {
		out = append(out, s)
	}
	sortReconcile(out)
	return out
}

// Reconcile runs reconciliation of source now (when source is "", of every
// source with a reconcile: schedule), from since when not zero (a
// backfill), and waits for it.
func (e *Engine) Reconcile(source string, since time.Time) ([]RunResult, error) {
	var names []string
	if source != "" {
		names = []string{source}
	} else {
		// A pollable source without reconcile: is one the operator does
		// not poll (it may lack the credentials): only --source runs it.
		var unscheduled []string
		for name, spec := range e.wiring.Load().sources {
			if _, ok := spec.Source.(providers.Poller); !ok {
				continue
			}
			if spec.Reconcile == "" {
				unscheduled = append(unscheduled, name)
				continue
			}
			names = append(names, name)
		}
		sort.Strings(names)
		sort.Strings(unscheduled)
		switch {
		case len(names) == 0 && len(unscheduled) == 0:
			return nil, errors.New("no source can be polled (only reapit sources can)")
		case len(names) == 0:
			return nil, fmt.Errorf("no source has a reconcile: schedule; run one once with --source (%s)", strings.Join(unscheduled, ", "))
		}
	}
	var out []RunResult
	for _, n := range names {
		res, err := e.recon.run(n, since)
		if err != nil {
			return out, err
		}
		out = append(out, res...)
	}
	return out, nil
}
