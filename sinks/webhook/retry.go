package webhook

// The in-process retry loop, on go-retryablehttp: which answers earn a
// quick retry, how long it waits, and signing every attempt afresh.

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/leadsync/leadsync/sinks"
)

// In-process retries: only for blips that a second's wait may cure. Longer
// waits belong to the outbox, where they do not hold a dispatcher slot and
// survive a restart.
const (
	quickRetries = 2
	quickWaitMin = 100 * time.Millisecond
	quickWaitMax = time.Second
)

// retrier returns the in-process retry loop for one delivery. It is cheap
// (the connections live in s.client) and lets the hooks see d.
func (s *Sink) retrier(d sinks.Delivery) *retryablehttp.Client {
	return &retryablehttp.Client{
		HTTPClient:   s.client,
		Logger:       nil, // retryablehttp's own logger would print at every level
		RetryWaitMin: quickWaitMin,
		RetryWaitMax: quickWaitMax,
		RetryMax:     quickRetries,
		CheckRetry:   s.checkRetry,
		Backoff:      s.backoff,
		// Hand back the last answer, not a "giving up" error, so that
		// ClassifyHTTP sees its status, body and Retry-After.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		// Called before every attempt, the first included: each attempt is
		// signed with its own timestamp.
		RequestLogHook: func(_ retryablehttp.Logger, req *http.Request, try int) {
			s.sign(req, d)
			s.log.Debug("webhook attempt", "delivery_id", d.ID, "attempt", d.Attempt, "try", try+1)
		},
		ResponseLogHook: func(_ retryablehttp.Logger, resp *http.Response) {
			s.log.Debug("webhook answer", "delivery_id", d.ID, "status", resp.StatusCode)
		},
	}
}

// sign sets webhook-timestamp and webhook-signature for this attempt.
func (s *Sink) sign(req *http.Request, d sinks.Delivery) {
	ts := strconv.FormatInt(s.now().Unix(), 10)
	// A retry's request is a shallow copy sharing the previous attempt's
	// header map; a fresh map leaves the finished attempt untouched.
	req.Header = req.Header.Clone()
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, "v1,"+mac(s.key, d.ID, ts, d.Body))
}

// checkRetry decides on an in-process retry: connection errors as
// retryablehttp judges them (not TLS, scheme or redirect errors), a 5xx
// unless it asks for more than a second, a 429 only if it asks for at most a
// second (rate limits want real backoff). An answer that arrives as ctx ends
// stands.
func (s *Sink) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if err != nil || resp == nil {
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	if ctx.Err() != nil {
		return false, nil
	}
	wait, hasWait := sinks.ParseRetryAfter(resp.Header.Get("Retry-After"), s.now())
	switch code := resp.StatusCode; {
	case code >= 500 && code <= 599:
		return !hasWait || wait <= quickWaitMax, nil
	case code == http.StatusTooManyRequests:
		return hasWait && wait <= quickWaitMax, nil
	}
	return false, nil
}

// backoff waits what a short Retry-After asks for, else doubles from lo.
func (s *Sink) backoff(lo, hi time.Duration, try int, resp *http.Response) time.Duration {
	if resp != nil {
		if wait, ok := sinks.ParseRetryAfter(resp.Header.Get("Retry-After"), s.now()); ok {
			return min(max(wait, lo), hi)
		}
	}
	return min(lo<<try, hi)
}
