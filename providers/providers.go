// Package providers is the contract between the intake engine and each lead
// source (Hemnet, Reapit, Rechat, generic): verify the raw bytes, then parse
// them into events. Each provider lives in its own package below this one and
// imports only this package and sync/lead.
package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/leadsync/leadsync/sync/lead"
)

// Errors a Verify may return (wrapped); intake maps them to HTTP answers.
var (
	// ErrBadSignature: missing or invalid signature, or timestamp outside the
	// window → 401.
	ErrBadSignature = errors.New("bad signature")
	// ErrForbidden: the sender is not allowed (IP allowlist) → 403.
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable: verification could not be done for a reason of ours
	// (key fetch failed) → 503, so that the provider retries.
	ErrUnavailable = errors.New("temporarily unavailable")
	// ErrRateLimited: the provider's API answered 429. It is an
	// ErrUnavailable too; a poller stops polling every customer on it, since
	// an API's rate limit is the app's.
	ErrRateLimited = fmt.Errorf("rate limited: %w", ErrUnavailable)
)

// Request is a webhook request as received, before any parsing.
type Request struct {
	Source     string      // the configured source name
	Body       []byte      // raw bytes, exactly as received
	Header     http.Header // request headers
	RemoteIP   netip.Addr  // client address (X-Forwarded-For resolved through trusted proxies)
	ReceivedAt time.Time
	RequestID  string // X-Request-Id or generated
}

// Source is one configured webhook source.
//
// Verify and Parse must be safe for concurrent use. Verify runs on the raw
// bytes before anything is parsed and must compare in constant time; it
// returns nil or an error wrapping one of the Err* values above. Parse is a
// pure function of the request (no I/O): it returns the events the request
// carries, each with Key set and Status accepted/ignored/quarantined, or an
// error when the body cannot be mapped at all, in which case intake
// quarantines the whole request.
type Source interface {
	Name() string
	Provider() string
	Verify(ctx context.Context, r *Request) error
	Parse(r *Request) ([]lead.Event, error)
}
