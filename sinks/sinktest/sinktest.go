// Package sinktest is the acceptance suite every sink runs: one set of
// checks of the sinks.Sink contract (delivers, a repeat is harmless,
// failures come back in the right class, ctx is honoured, secrets stay out
// of errors), run against a Peer the test controls.
//
// A sink's test calls Run with a Harness that builds the sink against the
// peer. HTTP sinks use the default HTTPPeer and supply an AcceptFunc that
// checks requests the way the real peer does; the email sink uses SMTPPeer,
// a strict SMTP server; other sinks bring their own Peer. A sink lists the
// answers its peer can give, and the checks that need another answer are
// skipped (visibly, with -v).
package sinktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadsync/leadsync/sinks"
)

// Harness plugs a sink into the suite.
type Harness struct {
	// New returns the sink under test, delivering to peer.Addr(). Required.
	// The suite closes the sink at the end of each check.
	New func(t *testing.T, peer Peer) sinks.Sink
	// NewPeer starts a fresh peer for one check; nil starts an HTTPPeer
	// checking requests with Accept.
	NewPeer func(t *testing.T) Peer
	// Accept is the AcceptFunc of the default HTTPPeer.
	Accept AcceptFunc
	// Answers lists what the peer can answer besides OK: nil means all of
	// them, an empty list none. Checks needing another answer are skipped.
	Answers []Answer
	// Same reports whether r is delivery d as the peer should have it; nil
	// compares r.Body and d.Body as JSON values. Sinks that transform the
	// lead (CRMs) compare the fields they map.
	Same func(d sinks.Delivery, r Received) error
	// Secrets must never appear in an error the sink returns.
	Secrets []string
}

// check is one check of the suite; needs is the answer it depends on.
type check struct {
	name  string
	needs Answer
	run   func(t *testing.T, c *env)
}

var checks = []check{
	{"Delivers", OK, delivers},
	{"RedeliveryIsHarmless", OK, redelivery},
	{"Concurrent", OK, concurrent},
	{"CanceledBeforeStart", OK, canceledBefore},
	{"UnavailableIsRetryable", Unavailable, unavailable},
	{"RateLimitedCarriesRetryAfter", RateLimited, rateLimited},
	{"BadRequestIsPermanent", BadRequest, badRequest},
	{"HangReturnsByDeadline", Hang, hangDeadline},
	{"HangHonoursCancel", Hang, hangCancel},
}

// Run runs every check the harness's peer supports, each as a subtest with
// a fresh peer and sink.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("sinktest: Harness.New is required")
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.needs != OK && h.Answers != nil && !slices.Contains(h.Answers, c.needs) {
				t.Skipf("peer cannot answer %v", c.needs)
			}
			e := &env{h: h, peer: h.newPeer(t)}
			e.sink = h.New(t, e.peer)
			t.Cleanup(func() {
				if err := e.sink.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			c.run(t, e)
			for _, v := range e.peer.Violations() {
				t.Errorf("peer saw a contract violation: %v", v)
			}
		})
	}
}

func (h Harness) newPeer(t *testing.T) Peer {
	if h.NewPeer != nil {
		return h.NewPeer(t)
	}
	return NewHTTPPeer(t, h.Accept)
}

// env is what a check works with.
type env struct {
	h    Harness
	peer Peer
	sink sinks.Sink
}

// deliver calls Deliver under a deadline, checks the error for secrets and
// returns it with the time it took.
func (e *env) deliver(t *testing.T, ctx context.Context, d sinks.Delivery) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	err := e.sink.Deliver(ctx, d)
	took := time.Since(start)
	if err != nil {
		for i, s := range e.h.Secrets {
			if s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("error carries Harness.Secrets[%d]", i)
			}
		}
	}
	return took, err
}

// same compares a received delivery with the one sent.
func (e *env) same(d sinks.Delivery, r Received) error {
	if r.ID != "" && r.ID != d.ID {
		return fmt.Errorf("delivery id %q, want %q", r.ID, d.ID)
	}
	if e.h.Same != nil {
		return e.h.Same(d, r)
	}
	return sameJSON(d.Body, r.Body)
}

func sameJSON(want, got []byte) error {
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		return fmt.Errorf("sent body: %w", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return fmt.Errorf("received body: %w", err)
	}
	if !reflect.DeepEqual(w, g) {
		return fmt.Errorf("received %s, want %s", got, want)
	}
	return nil
}

// testCtx is a context for checks that expect an answer: generous, so a slow
// CI machine does not fail them.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// quick bounds how long a sink may take over a failure it must hand back
// to the dispatcher: in-process retries are for a second or two at most.
const quick = 5 * time.Second

func delivers(t *testing.T, e *env) {
	d := Sample(1)
	if _, err := e.deliver(t, testCtx(t), d); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := e.peer.Received()
	if len(got) != 1 {
		t.Fatalf("peer received %d deliveries, want 1", len(got))
	}
	if err := e.same(d, got[0]); err != nil {
		t.Error(err)
	}
}

// redelivery: the dispatcher may repeat a delivery after a crash; the
// repeat must succeed and carry the same id so the peer can drop it.
func redelivery(t *testing.T, e *env) {
	d := Sample(2)
	for i := range 2 {
		if _, err := e.deliver(t, testCtx(t), d); err != nil {
			t.Fatalf("Deliver #%d: %v", i+1, err)
		}
	}
	got := e.peer.Received()
	if len(got) == 0 {
		t.Fatal("peer received nothing")
	}
	for _, r := range got {
		if err := e.same(d, r); err != nil {
			t.Error(err)
		}
	}
}

// concurrent: the dispatcher runs several deliveries at once.
func concurrent(t *testing.T, e *env) {
	const n = 16
	var wg sync.WaitGroup
	ds := make([]sinks.Delivery, n)
	for i := range ds {
		ds[i] = Sample(100 + i)
		wg.Go(func() {
			if _, err := e.deliver(t, testCtx(t), ds[i]); err != nil {
				t.Errorf("Deliver %s: %v", ds[i].ID, err)
			}
		})
	}
	wg.Wait()
	got := e.peer.Received()
	for _, d := range ds {
		if !slices.ContainsFunc(got, func(r Received) bool { return e.same(d, r) == nil }) {
			t.Errorf("%s not received", d.ID)
		}
	}
}

func canceledBefore(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := e.deliver(t, ctx, Sample(3))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Deliver with a canceled ctx = %v, want context.Canceled", err)
	}
	if n := len(e.peer.Received()); n != 0 {
		t.Errorf("peer received %d deliveries", n)
	}
}

func unavailable(t *testing.T, e *env) {
	e.peer.Answer(Unavailable)
	took, err := e.deliver(t, testCtx(t), Sample(4))
	if err == nil || sinks.IsPermanent(err) {
		t.Fatalf("Deliver to an unavailable peer = %v, want a retryable error", err)
	}
	if took > quick {
		t.Errorf("took %v: long waits belong to the dispatcher", took)
	}
}

func rateLimited(t *testing.T, e *env) {
	e.peer.Answer(RateLimited)
	took, err := e.deliver(t, testCtx(t), Sample(5))
	if err == nil || sinks.IsPermanent(err) {
		t.Fatalf("Deliver to a rate-limited peer = %v, want a retryable error", err)
	}
	if after, ok := sinks.RetryDelay(err); !ok || after <= 0 || after > PeerRetryAfter {
		t.Errorf("RetryDelay = %v, %v; want (0, %v]", after, ok, PeerRetryAfter)
	}
	if took > quick {
		t.Errorf("took %v: the sink waited in process", took)
	}
}

func badRequest(t *testing.T, e *env) {
	e.peer.Answer(BadRequest)
	_, err := e.deliver(t, testCtx(t), Sample(6))
	if !sinks.IsPermanent(err) {
		t.Fatalf("Deliver refused with 400 = %v, want permanent", err)
	}
	if n := e.peer.Requests(); n != 1 {
		t.Errorf("peer saw %d attempts; a permanent refusal is not retried", n)
	}
}

func hangDeadline(t *testing.T, e *env) {
	e.peer.Answer(Hang)
	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	took, err := e.deliver(t, ctx, Sample(7))
	if err == nil || sinks.IsPermanent(err) || errors.Is(err, context.Canceled) {
		t.Fatalf("Deliver to a hanging peer = %v, want a retryable error", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q does not wrap context.DeadlineExceeded", err)
	}
	if took > deadline+2*time.Second {
		t.Errorf("returned after %v, deadline %v", took, deadline)
	}
}

func hangCancel(t *testing.T, e *env) {
	e.peer.Answer(Hang)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	took, err := e.deliver(t, ctx, Sample(8))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Deliver canceled = %v, want context.Canceled", err)
	}
	if took > 2*time.Second {
		t.Errorf("returned %v after cancel", took)
	}
}
