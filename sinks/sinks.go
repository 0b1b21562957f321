// Package sinks is the contract between the dispatcher and each place a lead
// is delivered to (a signed webhook, a JSONL file, email, CRMs), and the one
// place where delivery failures are classified. Each sink lives in its own
// package below this one and imports only this package and sync/lead.
package sinks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/leadsync/leadsync/sync/lead"
)

// Delivery is one attempt to deliver one lead to one sink.
type Delivery struct {
	// ID is the delivery id ("msg_…"): the same on every attempt of this
	// delivery, so that a sink can de-duplicate a repeat after a crash.
	ID string
	// Attempt counts from 1.
	Attempt int
	// Body is the lead JSON exactly as it is to be sent.
	Body []byte
	// Lead is Body decoded; nil for sinks that implement BodyOnly.
	Lead *lead.Lead
}

// BodyOnly is implemented by sinks that send Body as it is and never read
// Delivery.Lead (the webhook and file sinks): the dispatcher then skips
// decoding the lead, which is most of its work per delivery.
type BodyOnly interface {
	BodyOnly()
}

// Sink delivers leads somewhere.
//
// Deliver must be safe for concurrent use (the dispatcher runs up to
// `delivery.concurrency` attempts at once, never two of the same entity), must
// honour ctx's deadline and cancellation, and should be idempotent on the
// delivery id: it may be called again with the same Delivery after a crash.
// It returns nil when the peer has the lead, an error made by Permanent when
// retrying cannot help (dead letter now), an error made by RetryAfter when the
// peer said when to come back, and any other error to retry with backoff.
//
// Close releases what the sink holds; it is called once no Deliver is in
// flight.
type Sink interface {
	Deliver(ctx context.Context, d Delivery) error
	Close() error
}

// PermanentError marks a failure that retrying cannot fix.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that the delivery goes to the dead letters at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// RetryAfterError marks a failure the peer asked to retry no sooner than After.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter wraps err with the peer's requested wait.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryAfterError{Err: err, After: d}
}

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryDelay returns the wait the peer asked for, if err carries one.
func RetryDelay(err error) (time.Duration, bool) {
	var r *RetryAfterError
	if errors.As(err, &r) {
		return r.After, true
	}
	return 0, false
}

// CredentialsRefused reports whether err says the peer refused our
// credentials (a token or password of the config, the same for every lead):
// an HTTP 401 or 407, or an error that says so itself (an SMTP AUTH refusal).
func CredentialsRefused(err error) bool {
	var c interface{ CredentialsRefused() bool }
	if errors.As(err, &c) {
		return c.CredentialsRefused()
	}
	status, _ := Answer(err)
	return status == 401 || status == 407
}

// PeerAnswer is implemented by errors that carry what the peer answered: an
// HTTP status and body snippet, an SMTP code and reply. Dead letters keep it.
type PeerAnswer interface {
	PeerStatus() int
	PeerResponse() string
}

// Answer returns the peer's status and short response carried by err, if any.
func Answer(err error) (int, string) {
	var a PeerAnswer
	if errors.As(err, &a) {
		return a.PeerStatus(), a.PeerResponse()
	}
	return 0, ""
}

// Eraser is implemented by sinks that keep leads themselves (the JSONL file)
// and can remove a person's from what they keep: match reports whether a
// lead JSON is about that person. Erase returns how many leads went. Sinks
// that hand leads to a peer (CRMs, webhooks) cannot erase there; the
// operator does that in the peer.
type Eraser interface {
	Erase(match func(leadJSON []byte) bool) (int, error)
}

// Previewer is implemented by sinks that can show what they would send for
// a delivery without sending it (a dry run: `leadsync explain`).
type Previewer interface {
	Preview(d Delivery) ([]byte, error)
}
