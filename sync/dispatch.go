package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	stdsync "sync"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/sync/lead"
)

// dispatcher delivers one sink's outbox. One loop goroutine finds due
// entries (a seek on the due-time ordered bucket) and starts at most
// Concurrency attempts; each attempt's outcome (ack, reschedule, bury) is
// committed through the store's writer, and only once that is durable is the
// entry released. An entity with an attempt in flight is held back, so one
// entity on one sink is delivered in order, one attempt at a time.
type dispatcher struct {
	e        *Engine
	name     string
	log      *slog.Logger
	wake     chan struct{}
	stopLoop context.CancelFunc // set by Engine.startLoop

	mu        stdsync.Mutex
	cur       *liveSink       // the sink instance new attempts use
	inflight  map[string]bool // outbox keys
	leads     map[string]bool // lead ids with an attempt in flight
	settled   uint64          // counts releases; see fill
	workers   stdsync.WaitGroup
	lastOK    time.Time
	lastErr   string
	lastErrAt time.Time
	lastDown  time.Time // the last attempt that got no answer from the sink; see down
	warnedAt  time.Time // the last retry logged at warn; see retryLevel
	quiet     int       // retries logged at debug since
}

// retryWarnEvery is how often a sink's failing deliveries are logged at
// warn: a sink that is down fails every lead queued for it, and one line
// per lead per retry (thousands a minute) would bury everything else in
// the journal. The others go to debug, and the next warn line counts them.
const retryWarnEvery = 10 * time.Second

// retryLevel is the level of a "will retry" line at now, and how many such
// lines went to debug since the last one at warn.
func (d *dispatcher) retryLevel(now time.Time) (slog.Level, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.warnedAt.IsZero() && now.Sub(d.warnedAt) < retryWarnEvery && !now.Before(d.warnedAt) {
		d.quiet++
		return slog.LevelDebug, 0
	}
	n := d.quiet
	d.warnedAt, d.quiet = now, 0
	return slog.LevelWarn, n
}

// liveSink is one built instance of a sink. A reload replaces it; attempts
// already started finish on the instance they started with, which is closed
// once they are done.
type liveSink struct {
	spec     SinkSpec
	attempts stdsync.WaitGroup
}

func newDispatcher(e *Engine, s SinkSpec) *dispatcher {
	return &dispatcher{e: e, name: s.Name, log: e.log.With("sink", s.Name), wake: make(chan struct{}, 1),
		cur: &liveSink{spec: s}, inflight: map[string]bool{}, leads: map[string]bool{}}
}

// swap makes s the instance for new attempts and closes the old one once its
// attempts end.
func (d *dispatcher) swap(s SinkSpec) {
	d.mu.Lock()
	old := d.cur
	d.cur = &liveSink{spec: s}
	d.mu.Unlock()
	d.e.closers.Add(1)
	go func() {
		defer d.e.closers.Done()
		old.attempts.Wait()
		if err := old.spec.Sink.Close(); err != nil {
			d.log.Warn("close replaced sink", "err", err)
		}
	}()
	d.poke()
}

// retire stops a removed sink: no new attempts; the sink is closed once the
// attempts in flight end. Its queue stays in the store.
func (d *dispatcher) retire() {
	if d.stopLoop != nil {
		d.stopLoop()
	}
	d.e.closers.Add(1)
	go func() {
		defer d.e.closers.Done()
		d.workers.Wait()
		d.closeSink()
	}()
}

// closeSink closes the current instance; only once no attempt runs.
func (d *dispatcher) closeSink() {
	d.mu.Lock()
	cur := d.cur
	d.mu.Unlock()
	if err := cur.spec.Sink.Close(); err != nil {
		d.log.Warn("close sink", "err", err)
	}
}

// poke wakes the loop: new work was committed or a slot was freed.
func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run loops until ctx is done, then waits for the attempts in flight, which
// run under deliverCtx (cancelled by the engine at the drain deadline).
func (d *dispatcher) run(ctx, deliverCtx context.Context) {
	defer d.workers.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := d.fill(deliverCtx)
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-timer.C:
		}
	}
}

// fill starts attempts for due entries while there are free slots, and
// returns when the next entry falls due.
func (d *dispatcher) fill(deliverCtx context.Context) time.Time {
	d.mu.Lock()
	free := d.cur.spec.Delivery.Concurrency - len(d.inflight)
	d.mu.Unlock()
	if free <= 0 {
		return time.Time{}
	}
	// An entry is released only once its outcome is durable, but a read
	// that began before that commit still shows it as due: if anything was
	// released while we read, read again, or it would be delivered twice.
	var entries []state.Entry
	var next time.Time
	for try := 0; ; try++ {
		d.mu.Lock()
		before := d.settled
		d.mu.Unlock()
		var err error
		entries, next, err = d.e.o.Store.Due(d.name, d.e.now(), free, d.busy)
		if err != nil {
			d.log.Error("read outbox", "err", err)
			return d.e.now().Add(time.Second)
		}
		d.mu.Lock()
		stable := d.settled == before
		d.mu.Unlock()
		if stable {
			break
		}
		if try == 3 {
			return d.e.now() // busy: the next release wakes us anyway
		}
	}
	for i := range entries {
		e := entries[i]
		d.mu.Lock()
		if d.leads[e.LeadID] { // two entries of one entity in this batch
			d.mu.Unlock()
			continue
		}
		d.inflight[string(e.Key)] = true
		d.leads[e.LeadID] = true
		ls := d.cur
		ls.attempts.Add(1)
		d.mu.Unlock()
		d.workers.Add(1)
		go d.attempt(deliverCtx, ls, &e)
	}
	if len(entries) == free {
		return d.e.now() // more may be due: look again when a slot frees
	}
	return next
}

// busy reports whether e, or another entry of its entity, is in flight.
func (d *dispatcher) busy(e *state.Entry) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inflight[string(e.Key)] || d.leads[e.LeadID]
}

func (d *dispatcher) release(e *state.Entry) {
	d.mu.Lock()
	delete(d.inflight, string(e.Key))
	delete(d.leads, e.LeadID)
	d.settled++
	d.mu.Unlock()
	d.poke()
}

// attempt makes one delivery attempt and commits its outcome.
func (d *dispatcher) attempt(deliverCtx context.Context, ls *liveSink, e *state.Entry) {
	defer d.workers.Done()
	defer ls.attempts.Done()
	p := ls.spec.Delivery
	log := d.log.With("lead_id", e.LeadID, "event_id", e.EventID, "delivery_id", e.ID, "attempt", e.Attempt+1)
	// Only what the log lines and the latency metric need is decoded, unless
	// the sink reads the whole lead.
	if len(e.Lead) == 0 {
		// The entry names an event that is no longer stored: erased while
		// the entry was read (erase drops the entry next).
		d.bury(log, e, "the lead is no longer stored (erased)", nil)
		return
	}
	var l lead.Lead
	var err error
	_, bodyOnly := ls.spec.Sink.(sinks.BodyOnly)
	if bodyOnly {
		var head struct {
			ReceivedAt lead.Time   `json:"received_at"`
			Source     lead.Source `json:"source"`
		}
		err = json.Unmarshal(e.Lead, &head)
		l.ReceivedAt, l.Source = head.ReceivedAt, head.Source
	} else {
		err = json.Unmarshal(e.Lead, &l)
	}
	if err != nil {
		d.bury(log, e, "stored lead is not valid JSON: "+err.Error(), nil)
		return
	}
	log = log.With("source", l.Source.Name)
	if l.Source.RequestID != nil {
		log = log.With("request_id", *l.Source.RequestID)
	}
	var dl *lead.Lead
	if !bodyOnly {
		dl = &l
	}
	ctx, cancel := context.WithTimeout(deliverCtx, p.Timeout)
	start := time.Now()
	err = ls.spec.Sink.Deliver(ctx, sinks.Delivery{ID: e.ID, Attempt: e.Attempt + 1, Body: e.Lead, Lead: dl})
	cancel()
	took := time.Since(start)
	now := d.e.now()
	m := d.e.metrics
	m.deliverySecs.WithLabelValues(d.name).Observe(took.Seconds())
	var status string // what became of the attempt, for the tail
	defer func() {
		if !d.e.tail.active() {
			return
		}
		d.e.tail.publish(TailEvent{Time: now.UTC(), Kind: "delivery", Source: l.Source.Name, EventID: e.EventID,
			LeadID: e.LeadID, Sink: d.name, Status: status, Attempt: e.Attempt + 1,
			Took: took.Round(time.Millisecond).String(), Reason: logText(errText(err), err)})
	}()
	// Whether the sink is down is judged on what it did before this
	// attempt; then this attempt's outcome is recorded.
	failed := err != nil && deliverCtx.Err() == nil
	sinkDown := failed && e.Attempt+1 >= p.MaxAttempts && d.down(e, err)
	// A permanent failure is the peer's verdict on this one lead (a
	// webhook receiver's 401): it says nothing of the sink being down.
	if failed && !sinks.IsPermanent(err) && noAnswer(err) {
		d.mu.Lock()
		d.lastDown = now
		d.mu.Unlock()
	}
	switch {
	case err == nil:
		status = "delivered"
		m.deliveries.WithLabelValues(d.name, "delivered").Inc()
		m.endToEnd.WithLabelValues(d.name).Observe(now.Sub(l.ReceivedAt.Time).Seconds())
		d.mu.Lock()
		d.lastOK = now
		d.mu.Unlock()
		log.Info("lead delivered", "took", took.Round(time.Millisecond).String())
		d.commit(log, e, d.e.o.Store.Ack(d.name, e, d.done(log, e)))
	case deliverCtx.Err() != nil:
		// Shutting down: the entry stays queued as it is and is tried again
		// after restart. No attempt is counted against it.
		status = "interrupted"
		m.deliveries.WithLabelValues(d.name, "interrupted").Inc()
		log.Info("delivery interrupted by shutdown; stays queued")
		d.release(e)
	case sinks.IsPermanent(err):
		status = "dead"
		d.bury(log, e, err.Error(), err)
	case now.Sub(time.Unix(0, e.Created)) >= p.MaxAge:
		status = "dead"
		d.bury(log, e, "gave up after max_age: "+err.Error(), err)
	case e.Attempt+1 >= p.MaxAttempts && !sinkDown:
		status = "dead"
		d.bury(log, e, "gave up after max_attempts: "+err.Error(), err)
	default:
		status = "retry"
		m.deliveries.WithLabelValues(d.name, "retry").Inc()
		delay := backoff(p, e.Attempt, err)
		text := logText(err.Error(), err)
		d.noteErr(now, text)
		level, quiet := d.retryLevel(now)
		if quiet > 0 {
			log = log.With("retries_logged_at_debug", quiet)
		}
		log.Log(context.Background(), level, "delivery failed; will retry", "err", text, "retry_in", delay.Round(time.Millisecond).String())
		peerStatus, _ := sinks.Answer(err)
		e.Tried = now.UnixNano() // by the clock lastOK is read by
		d.commit(log, e, d.e.o.Store.Reschedule(d.name, e, now.Add(delay), err.Error(), peerStatus, d.done(log, e)))
	}
}

// down reports whether the sink is down rather than e at fault, for a lead
// at max_attempts: SPEC promises that a sink down for days still gets every
// lead, and the default backoff (5s to 1h, full jitter) spends 30 attempts
// in about half a day. Such a lead waits for max_age instead. The sink is
// down when e's attempt got no answer from it (unreachable — see
// noAnswer) and either it delivered nothing since e's previous failed
// attempt, or its latest outcome with any lead is such a failure (it came
// back for a while and went down again). A sink that answers otherwise (a
// 500, a 429, an SMTP 550) is up, and max_attempts counts as configured; so
// it does for a lead that fails while the sink delivers others. After a
// restart nothing has been delivered yet: a lead at max_attempts waits.
func (d *dispatcher) down(e *state.Entry, err error) bool {
	if !noAnswer(err) {
		return false
	}
	prev := e.Tried
	if prev == 0 {
		prev = e.Created // an entry written before attempts recorded their time
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastOK.IsZero() || d.lastOK.UnixNano() < prev || d.lastDown.After(d.lastOK)
}

// noAnswer reports whether a failed attempt got no usable answer from the
// sink: no connection, a timeout, a local I/O error (a full disk under a
// file sink), a gateway's word that the sink behind it does not answer
// (502, 504, Cloudflare's 521–524), an SMTP server's 421 (service not
// available); or a refusal of our credentials that the sink retries (a
// CRM's 401, a proxy's 407, a refused SMTP AUTH: see
// sinks.CredentialsRefused): no lead gets through until the operator fixes
// the token or password, and each waits for that rather than for nobody. (A
// webhook sink's 401 is the receiver's verdict on the lead, a dead letter
// at once: it never gets here.)
func noAnswer(err error) bool {
	switch status, _ := sinks.Answer(err); status {
	case 0, http.StatusBadGateway, http.StatusGatewayTimeout, 521, 522, 523, 524, 421:
		return true
	}
	return sinks.CredentialsRefused(err)
}

func (d *dispatcher) bury(log *slog.Logger, e *state.Entry, reason string, err error) {
	text := logText(reason, err)
	d.noteErr(d.e.now(), text)
	status, body := sinks.Answer(err)
	d.e.metrics.deliveries.WithLabelValues(d.name, "dead").Inc()
	d.e.metrics.dead.WithLabelValues(d.name).Inc()
	log.Error("delivery failed for good; moved to dead letters", "reason", text)
	d.commit(log, e, d.e.o.Store.Bury(d.name, e, reason, status, body, d.done(log, e)))
}

// commit handles a failed submission to the store (closed): the entry stays
// as it is on disk and is released.
func (d *dispatcher) commit(log *slog.Logger, e *state.Entry, err error) {
	if err != nil {
		log.Warn("could not record delivery outcome; entry stays queued", "err", err)
		d.release(e)
	}
}

func (d *dispatcher) done(log *slog.Logger, e *state.Entry) func(error) {
	return func(err error) {
		if err != nil {
			// The store could not record the outcome (disk full, read-only,
			// I/O error): on disk the entry is still due as it was. Released
			// at once, it would be attempted again at once, and a sink that
			// answers would get the same delivery over and over for as long
			// as the store fails. Hold it back a while instead.
			log.Error("record delivery outcome; entry stays queued", "err", err, "retry_in", outcomeRetry.String())
			time.AfterFunc(outcomeRetry, func() { d.release(e) })
			return
		}
		d.release(e)
	}
}

// outcomeRetry is how long an entry whose outcome could not be recorded is
// held back before it is attempted again.
const outcomeRetry = time.Second

// noteErr records the last failure for status; text must have been through
// logText.
func (d *dispatcher) noteErr(now time.Time, text string) {
	d.mu.Lock()
	d.lastErr, d.lastErrAt = text, now
	d.mu.Unlock()
}

// backoff is exponential with full jitter: a uniform wait in [0, min(max,
// initial·2^attempt)), so that retries of many leads spread out. A
// Retry-After from the peer is honoured (never retry sooner), capped at max.
func backoff(p Policy, attempt int, err error) time.Duration {
	ceil := p.BackoffInitial
	for i := 0; i < attempt && ceil < p.BackoffMax; i++ {
		ceil *= 2
	}
	ceil = min(ceil, p.BackoffMax)
	delay := time.Duration(rand.Int64N(int64(ceil) + 1))
	if ra, ok := sinks.RetryDelay(err); ok {
		delay = max(delay, min(ra, p.BackoffMax))
	}
	return delay
}

// logText is text for a log line, the tail or status about err with what
// the peer answered taken out: a CRM's error can echo the lead's name or
// email back, an SMTP error names the recipient (the lead's agent, with
// to_agent) in its command and often in its reply, and none of these may
// carry personal data. The answer stays in the dead letter and the outbox
// entry's last error, which erase and retention reach; the status is kept.
//
// The peer's error is withheld whole wherever its text appears, not only
// its response: an SMTP command is not part of the response.
func logText(text string, err error) string {
	var a sinks.PeerAnswer
	if !errors.As(err, &a) {
		return text
	}
	safe := fmt.Sprintf("peer answered %d: %s", a.PeerStatus(), withheld)
	if pe, ok := a.(error); ok {
		text = strings.ReplaceAll(text, pe.Error(), safe)
	}
	if body := a.PeerResponse(); body != "" {
		text = strings.ReplaceAll(text, body, withheld)
	}
	return text
}

const withheld = "[response withheld from the log; a dead letter keeps it]"

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
