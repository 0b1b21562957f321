package sync

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/leadsync/leadsync/state"
)

// Status is what `leadsync status` shows: per source, per sink, per
// reconciled customer. Running is false when it was read from the store of a
// stopped daemon, in which case the in-memory fields are empty.
type Status struct {
	Running   bool              `json:"running"`
	Version   string            `json:"version,omitempty"`
	Started   *time.Time        `json:"started,omitempty"`
	Sources   []SourceStatus    `json:"sources"`
	Sinks     []SinkStatus      `json:"sinks"`
	Reconcile []ReconcileStatus `json:"reconcile"`
}

// SourceStatus counts a source's events.
type SourceStatus struct {
	Name        string     `json:"name"`
	Provider    string     `json:"provider,omitempty"`
	Accepted    int64      `json:"accepted"`
	Duplicates  int64      `json:"duplicates"` // retries of events already committed (kept in the store)
	Rejected    int64      `json:"rejected"`   // since start (401/403/413/415)
	Quarantined int64      `json:"quarantined"`
	Ignored     int64      `json:"ignored"`
	Stale       int64      `json:"stale"`
	LastEvent   *time.Time `json:"last_event"`
}

// SinkStatus describes a sink's queue and health.
type SinkStatus struct {
	Name             string     `json:"name"`
	Type             string     `json:"type,omitempty"`
	Configured       bool       `json:"configured"` // false: removed from the config, queue kept
	Pending          int        `json:"pending"`
	Dead             int        `json:"dead"`
	OldestPendingAge float64    `json:"oldest_pending_age_seconds"`
	LastSuccess      *time.Time `json:"last_success"`
	LastError        NullString `json:"last_error"`
	LastErrorAt      *time.Time `json:"last_error_at"`
}

// NullString is a string that is null in JSON when empty, as status's other
// "never happened" fields (last_success, last_event) are: every key is
// always there.
type NullString string

// MarshalJSON writes null for "".
func (s NullString) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(s))
}

// ReconcileStatus is one reconciled customer of a source.
type ReconcileStatus struct {
	Source    string     `json:"source"`
	Customer  string     `json:"customer"`
	LastRun   *time.Time `json:"last_run"`
	LastError NullString `json:"last_error"`
	Cursor    *time.Time `json:"cursor"`
	Seen      int64      `json:"applicants_seen"`
	Found     int64      `json:"found_only_by_reconcile"`
}

// StoreStatus reads what the store knows, for a stopped daemon.
func StoreStatus(st *state.Store, now time.Time) (*Status, error) {
	s := &Status{Sources: []SourceStatus{}, Sinks: []SinkStatus{}, Reconcile: []ReconcileStatus{}}
	srcs, err := st.Sources()
	if err != nil {
		return nil, err
	}
	for _, src := range srcs {
		ss := SourceStatus{Name: src.Name, Accepted: src.Counts["accepted"], Duplicates: src.Counts["duplicate"],
			Quarantined: src.Counts["quarantined"], Ignored: src.Counts["ignored"], Stale: src.Counts["stale"]}
		if !src.LastEvent.IsZero() {
			t := src.LastEvent.UTC()
			ss.LastEvent = &t
		}
		s.Sources = append(s.Sources, ss)
	}
	sinks, err := st.Sinks()
	if err != nil {
		return nil, err
	}
	for _, sk := range sinks {
		ss := SinkStatus{Name: sk.Name, Pending: sk.Pending, Dead: sk.Dead}
		if !sk.OldestPending.IsZero() {
			ss.OldestPendingAge = now.Sub(sk.OldestPending).Seconds()
		}
		s.Sinks = append(s.Sinks, ss)
	}
	// Reconciliation's cursors are in the store too: a stopped daemon's
	// status still says how far each customer was reconciled.
	cursors, err := st.Cursors()
	if err != nil {
		return nil, err
	}
	for src, custs := range cursors {
		for cust, t := range custs {
			s.Reconcile = append(s.Reconcile, ReconcileStatus{Source: src, Customer: cust, Cursor: &t})
		}
	}
	sortReconcile(s.Reconcile)
	return s, nil
}

// sortReconcile orders rows by source, then customer.
func sortReconcile(rows []ReconcileStatus) {
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		return a.Source < b.Source || a.Source == b.Source && a.Customer < b.Customer
	})
}

// Status is StoreStatus plus what the running engine knows.
func (e *Engine) Status() (*Status, error) {
	s, err := StoreStatus(e.o.Store, e.now())
	if err != nil {
		return nil, err
	}
	s.Running, s.Version = true, e.o.Version
	e.mu.Lock() // Run sets started under it
	started := e.started.UTC()
	e.mu.Unlock()
	s.Started = &started
	w := e.wiring.Load()
	rejected := e.counters.snapshot()
	seen := map[string]bool{}
	for i := range s.Sources {
		src := &s.Sources[i]
		seen[src.Name] = true
		src.Rejected = rejected[src.Name]
		if spec := w.sources[src.Name]; spec != nil {
			src.Provider = spec.Source.Provider()
		}
	}
	for name, spec := range w.sources { // configured sources with no event yet
		if !seen[name] {
			s.Sources = append(s.Sources, SourceStatus{Name: name, Provider: spec.Source.Provider(),
				Rejected: rejected[name]})
		}
	}
	sort.Slice(s.Sources, func(i, j int) bool { return s.Sources[i].Name < s.Sources[j].Name })
	for i := range s.Sinks {
		sk := &s.Sinks[i]
		d := e.dispatcher(sk.Name)
		if d == nil {
			continue
		}
		sk.Configured = true
		d.mu.Lock()
		sk.Type = d.cur.spec.Type
		if !d.lastOK.IsZero() {
			t := d.lastOK.UTC()
			sk.LastSuccess = &t
		}
		if d.lastErr != "" {
			t := d.lastErrAt.UTC()
			sk.LastError, sk.LastErrorAt = NullString(d.lastErr), &t
		}
		d.mu.Unlock()
	}
	s.Reconcile = e.recon.status(s.Reconcile)
	return s, nil
}
