package hubspot

// HubSpot's rate limits, on both sides: a client-side window that keeps this
// sink under the private app's limit, and the wait a 429 asks for.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/leadsync/leadsync/sinks"
)

// HubSpot's documented limits for private apps, and what leadsync waits when
// a 429 does not say.
const (
	// DefaultRateLimit requests per DefaultRateWindow: the burst limit of a
	// private app (Free and Starter accounts; higher tiers allow more).
	DefaultRateLimit  = 190
	DefaultRateWindow = 10 * time.Second
	// dailyWait is the wait after the daily limit is hit. It resets at
	// midnight in the account's time zone, which leadsync does not know:
	// it looks again every hour (the dispatcher's backoff caps it anyway).
	dailyWait = time.Hour
)

// window lets at most n requests reach HubSpot within any span of length
// per. A slot is stamped when its request is done, not when it is sent:
// HubSpot counts a request when it arrives, which is after the send (a slow
// connection can delay it) but before the answer, so a request that starts
// a full window after the answer to the one n before it cannot arrive
// within the same window as that one. Slots are taken in order, so waiters
// are served first come, first served.
type window struct {
	n   int
	per time.Duration

	mu    sync.Mutex
	slots []*slot // the last n slots, a ring; nil: never used
	next  int     // the oldest slot, replaced next
}

// slot is one request's place in the window: done is closed, and at set,
// when the request is over.
type slot struct {
	done chan struct{}
	at   time.Time
}

func newWindow(n int, per time.Duration) *window {
	return &window{n: n, per: per, slots: make([]*slot, n)}
}

// wait blocks until a request may start and returns the release to call
// when it is done. When the start is beyond ctx's deadline it returns at
// once with a RetryAfter error, taking nothing, so that the dispatcher, not
// this goroutine, does the waiting. A slot taken by a wait that ctx then
// ends is released at once.
func (w *window) wait(ctx context.Context) (release func(), err error) {
	for {
		w.mu.Lock()
		old := w.slots[w.next]
		if old != nil && !isDone(old) {
			// n requests are in flight: the oldest must end first.
			w.mu.Unlock()
			select {
			case <-old.done:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		now := time.Now()
		start := now
		if old != nil && old.at.Add(w.per).After(now) {
			start = old.at.Add(w.per)
		}
		if dl, ok := ctx.Deadline(); ok && start.After(dl) {
			w.mu.Unlock()
			return nil, sinks.RetryAfter(errors.New("hubspot: client-side rate limit reached"), start.Sub(now))
		}
		mine := &slot{done: make(chan struct{})}
		w.slots[w.next] = mine
		w.next = (w.next + 1) % w.n
		w.mu.Unlock()
		release = func() { w.release(mine) }
		if err := sleep(ctx, start.Sub(now)); err != nil {
			release()
			return nil, err
		}
		return release, nil
	}
}

// release stamps s with the time its request ended.
func (w *window) release(s *slot) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !isDone(s) {
		s.at = time.Now()
		close(s.done)
	}
}

// isDone reports whether s was released; w.mu is held.
func isDone(s *slot) bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rateLimited is the error of a 429 answer that had no Retry-After: the
// wait comes from X-HubSpot-RateLimit-* headers and the policy in the body,
// capped at maxWait.
func rateLimited(err error, a *sinks.APIAnswer, maxWait time.Duration) error {
	d := rateLimitWait(a.Header, a.Body)
	if maxWait > 0 {
		d = min(d, maxWait)
	}
	return sinks.RetryAfter(err, d)
}

// rateLimitWait reads how long HubSpot wants us to stay away. Its 429 body
// names the policy hit ({"errorType":"RATE_LIMIT","policyName":"DAILY"} or
// TEN_SECONDLY_ROLLING, SECONDLY); the headers give the rolling window
// (X-HubSpot-RateLimit-Interval-Milliseconds) and what is left in it
// (X-HubSpot-RateLimit-Remaining, -Secondly-Remaining).
func rateLimitWait(h http.Header, body []byte) time.Duration {
	var b struct {
		PolicyName string `json:"policyName"`
	}
	_ = json.Unmarshal(body, &b) // a body we cannot read says nothing
	if strings.EqualFold(b.PolicyName, "DAILY") {
		return dailyWait
	}
	remaining, hasRemaining := headerInt(h, "X-HubSpot-RateLimit-Remaining")
	if secondly, ok := headerInt(h, "X-HubSpot-RateLimit-Secondly-Remaining"); ok && secondly <= 0 &&
		(!hasRemaining || remaining > 0) {
		return time.Second
	}
	if ms, ok := headerInt(h, "X-HubSpot-RateLimit-Interval-Milliseconds"); ok && ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return DefaultRateWindow
}

// headerInt parses a non-negative integer header.
func headerInt(h http.Header, name string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(h.Get(name)), 10, 64)
	return n, err == nil && n >= 0
}
