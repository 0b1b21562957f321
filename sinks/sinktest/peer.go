package sinktest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Answer is how a Peer answers the deliveries it is sent.
type Answer int

// Answers a Peer can be told to give.
const (
	// OK accepts: 200 for an HTTP peer.
	OK Answer = iota
	// Unavailable is 503 without Retry-After: a peer that is down.
	Unavailable
	// RateLimited is 429 with Retry-After: PeerRetryAfter in seconds.
	RateLimited
	// BadRequest is 400: the peer refuses this lead for good.
	BadRequest
	// Hang never answers; the sink has to give up by its ctx.
	Hang
)

// PeerRetryAfter is the Retry-After a RateLimited peer sends. It is long on
// purpose: a sink must hand it to the dispatcher, not sleep on it.
const PeerRetryAfter = 120 * time.Second

var answerNames = [...]string{"OK", "Unavailable", "RateLimited", "BadRequest", "Hang"}

// String returns the answer's name.
func (a Answer) String() string {
	if int(a) < len(answerNames) {
		return answerNames[a]
	}
	return fmt.Sprintf("Answer(%d)", int(a))
}

// Received is one delivery as the peer saw it.
type Received struct {
	// ID is the delivery id the request carried (webhook-id, an
	// idempotency key), or "" where the peer's format has none.
	ID string
	// Body is what the peer was given, for Harness.Same to compare with the
	// delivery.
	Body []byte
}

// Peer is the far side of a sink under test, under the test's control.
// Its methods are safe for concurrent use.
type Peer interface {
	// Addr is where the sink is to deliver: a URL for an HTTP peer, a path
	// for a file.
	Addr() string
	// Answer sets how the peer answers from now on.
	Answer(a Answer)
	// Received returns what the peer accepted so far (answered OK), in
	// order of arrival.
	Received() []Received
	// Requests counts every delivery attempt the peer saw, whatever it
	// answered.
	Requests() int
	// Violations returns the attempts that broke the peer's documented
	// contract (bad signature, missing header…).
	Violations() []error
}

// AcceptFunc checks one request against the peer's documented contract, as
// the real peer would (signature, headers, body shape), and returns what it
// carried. It runs on every request, whatever the answer; an error is a
// violation, and the peer answers 400.
type AcceptFunc func(r *http.Request, body []byte) (Received, error)

// HTTPPeer is a Peer served by an httptest.Server. Its error answers echo the
// request headers back, as careless servers do, so that the suite can check
// that a sink keeps credentials out of its errors.
type HTTPPeer struct {
	srv    *httptest.Server
	accept AcceptFunc
	done   chan struct{} // closed at cleanup: frees hanging handlers

	mu         sync.Mutex
	answer     Answer
	received   []Received
	requests   int
	violations []error
}

var _ Peer = (*HTTPPeer)(nil)

// NewHTTPPeer starts an HTTP peer that checks requests with accept (nil
// takes any request, with no delivery id) and stops it when t ends.
func NewHTTPPeer(t testing.TB, accept AcceptFunc) *HTTPPeer {
	if accept == nil {
		accept = func(_ *http.Request, body []byte) (Received, error) { return Received{Body: body}, nil }
	}
	p := &HTTPPeer{accept: accept, done: make(chan struct{})}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	// Cleanups run last-in first-out: hanging handlers are freed before
	// Close waits for them.
	t.Cleanup(p.srv.Close)
	t.Cleanup(func() { close(p.done) })
	return p
}

func (p *HTTPPeer) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		return // the sink gave up mid-request
	}
	rec, err := p.accept(r, body)
	p.mu.Lock()
	p.requests++
	a := p.answer
	if err != nil {
		p.violations = append(p.violations, err)
	}
	p.mu.Unlock()
	echo := fmt.Sprintf("you sent %v", r.Header)
	switch {
	case err != nil:
		http.Error(w, "rejected: "+err.Error(), http.StatusBadRequest)
	case a == Hang:
		select {
		case <-r.Context().Done():
		case <-p.done:
		}
	case a == Unavailable:
		http.Error(w, "down for maintenance; "+echo, http.StatusServiceUnavailable)
	case a == RateLimited:
		w.Header().Set("Retry-After", fmt.Sprint(int(PeerRetryAfter.Seconds())))
		http.Error(w, "slow down; "+echo, http.StatusTooManyRequests)
	case a == BadRequest:
		http.Error(w, "invalid lead; "+echo, http.StatusBadRequest)
	default:
		p.mu.Lock()
		p.received = append(p.received, rec)
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}
}

// Addr returns the server's base URL.
func (p *HTTPPeer) Addr() string { return p.srv.URL }

// Answer sets how the peer answers from now on.
func (p *HTTPPeer) Answer(a Answer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answer = a
}

// Received returns the requests answered OK, in order of arrival.
func (p *HTTPPeer) Received() []Received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Received(nil), p.received...)
}

// Requests counts every request.
func (p *HTTPPeer) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// Violations returns the errors of AcceptFunc so far.
func (p *HTTPPeer) Violations() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]error(nil), p.violations...)
}
