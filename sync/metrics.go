package sync

import (
	"net/http"
	"time"

	"github.com/leadsync/leadsync/state"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the daemon's Prometheus metrics, in a private registry (no
// global state, so tests can run engines side by side). Labels carry source
// and sink names, answers and outcomes only: never personal data or ids.
type Metrics struct {
	reg *prometheus.Registry

	webhooks      *prometheus.CounterVec   // source, code
	intake        *prometheus.HistogramVec // source
	batch         prometheus.Histogram
	commitSeconds prometheus.Histogram
	events        *prometheus.CounterVec   // source, status
	deliveries    *prometheus.CounterVec   // sink, outcome
	deliverySecs  *prometheus.HistogramVec // sink
	endToEnd      *prometheus.HistogramVec // sink
	dead          *prometheus.CounterVec   // sink
	reloads       *prometheus.CounterVec   // result
	reloadTime    prometheus.Gauge
	reconcileRuns *prometheus.CounterVec // source, result
	reconcilePage *prometheus.CounterVec // source
	reconcileNew  *prometheus.CounterVec // source
}

// sourceSeries are the series of one source that every accepted webhook
// touches.
type sourceSeries struct {
	ok       prometheus.Counter  // webhooks answered 200
	intake   prometheus.Observer // their time to answer
	accepted prometheus.Counter  // events accepted
}

func (m *Metrics) sourceSeries(source string) *sourceSeries {
	return &sourceSeries{ok: m.webhooks.WithLabelValues(source, "200"), intake: m.intake.WithLabelValues(source),
		accepted: m.events.WithLabelValues(source, "accepted")}
}

// NewMetrics registers every metric, plus the Go and process collectors
// (prefixed leadsync_ as the rest).
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	lat := []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadsync_webhooks_total",
		Help: "Webhook requests by source and HTTP answer."}, []string{"source", "code"})
	m.intake = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "leadsync_intake_seconds",
		Help: "Time from request to answer of accepted webhooks, commit included.", Buckets: lat}, []string{"source"})
	m.batch = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "leadsync_commit_batch_ops",
		Help: "Operations per bbolt commit (group commit).", Buckets: prometheus.ExponentialBuckets(1, 2, 11)})
	m.commitSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "leadsync_commit_seconds",
		Help: "Duration of one bbolt commit, fsync included.", Buckets: lat})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadsync_events_total",
		Help: "Committed events by source and status (accepted, duplicate, quarantined, ignored, stale)."}, []string{"source", "status"})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadsync_deliveries_total",
		Help: "Delivery attempts by sink and outcome (delivered, retry, dead, interrupted)."}, []string{"sink", "outcome"})
	m.deliverySecs = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "leadsync_delivery_seconds",
		Help: "Duration of one delivery attempt.", Buckets: lat}, []string{"sink"})
	m.endToEnd = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "leadsync_receive_to_deliver_seconds",
		Help:    "Time from receiving a lead to its successful delivery.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 5, 30, 60, 300, 3600, 86400}}, []string{"sink"})
	m.dead = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadsync_dead_letters_total",
		Help: "Deliveries moved to the dead letters."}, []string{"sink"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadsync_config_reloads_total",
		Help: "Config reloads by result (success, failure)."}, []string{"result"})
	m.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{Name: "leadsync_config_last_reload_success_timestamp_seconds",
		Help: "When the config was last loaded successfully."})
	m.reconcileRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadsync_reconcile_runs_total",
		Help: "Reconciliation runs by source and result."}, []string{"source", "result"})
	m.reconcilePage = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadsync_reconcile_pages_total",
		Help: "Pages fetched by reconciliation."}, []string{"source"})
	m.reconcileNew = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadsync_reconcile_found_total",
		Help: "Leads found only by reconciliation (missed webhooks)."}, []string{"source"})
	for _, c := range []prometheus.Collector{m.webhooks, m.intake, m.batch, m.commitSeconds, m.events, m.deliveries,
		m.deliverySecs, m.endToEnd, m.dead, m.reloads, m.reloadTime, m.reconcileRuns, m.reconcilePage, m.reconcileNew} {
		f(c)
	}
	// Every name served starts with leadsync_ (SPEC), the runtime's and
	// the process's too: leadsync_go_goroutines,
	// leadsync_process_resident_memory_bytes, ...
	prefixed := prometheus.WrapRegistererWithPrefix("leadsync_", m.reg)
	prefixed.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reloadTime.SetToCurrentTime()
	return m
}

// ObserveCommit is state.Options.OnCommit.
func (m *Metrics) ObserveCommit(ops int, took time.Duration) {
	m.batch.Observe(float64(ops))
	m.commitSeconds.Observe(took.Seconds())
}

// watchOutbox adds gauges of each sink's queue, read from the store when
// scraped.
func (m *Metrics) watchOutbox(st *state.Store) {
	m.reg.MustRegister(&outboxCollector{st: st,
		depth: prometheus.NewDesc("leadsync_outbox_pending", "Deliveries waiting in a sink's outbox.", []string{"sink"}, nil),
		dead:  prometheus.NewDesc("leadsync_outbox_dead", "Dead letters of a sink.", []string{"sink"}, nil),
		age: prometheus.NewDesc("leadsync_outbox_oldest_pending_seconds",
			"Age of the oldest pending delivery of a sink (0 when none).", []string{"sink"}, nil),
	})
}

type outboxCollector struct {
	st               *state.Store
	depth, dead, age *prometheus.Desc
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.dead
	ch <- c.age
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	sinks, err := c.st.Sinks()
	if err != nil {
		return
	}
	for _, s := range sinks {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(s.Pending), s.Name)
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(s.Dead), s.Name)
		age := 0.0
		if !s.OldestPending.IsZero() {
			age = time.Since(s.OldestPending).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age, s.Name)
	}
}

// Handler serves the registry in the Prometheus text format. (Without
// HandlerOpts.Registry: that would add promhttp's own error counter, the
// one series not named leadsync_; a failed scrape shows in the scraper.)
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
