package reapit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/leadsync/leadsync/providers"
)

// Reapit allows an app 20 Platform API requests a second. Every API call of
// a Source (polling and key fetches, not the token endpoint, which is
// another service) goes through one token bucket that stays well under it:
// at most requestBurst + requestsPerSecond calls in any one second.
const (
	requestsPerSecond = 10
	requestBurst      = 5
)

// limiter is a token bucket on real time. A caller takes a token at once,
// running the bucket negative when it is empty, and then sleeps until its
// token would have been there; a caller that gives up returns its token.
type limiter struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newLimiter(rate, burst int) *limiter {
	return &limiter{rate: float64(rate), burst: float64(burst), tokens: float64(burst)}
}

// wait blocks until the caller may make one request, or ctx ends.
func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := time.Now()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	l.tokens--
	deficit := -l.tokens
	l.mu.Unlock()
	if deficit <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(deficit / l.rate * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		l.tokens++
		l.mu.Unlock()
		return ctx.Err()
	}
}

// apiResponse is an API answer read in full.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// apiGet does GET u with a bearer token, api-version and the headers in h,
// within the rate limit. On a 401 it refreshes the token once and retries,
// since a token can be revoked before it expires. It returns any answer it
// got; the error is for no answer (wrapping providers.ErrUnavailable) or no
// token.
func (s *Source) apiGet(ctx context.Context, u string, h http.Header, limit int64) (*apiResponse, error) {
	for attempt := 0; ; attempt++ {
		tok, err := s.tokens.token(ctx)
		if err != nil {
			return nil, err
		}
		if err := s.limit.wait(ctx); err != nil {
			return nil, fmt.Errorf("wait for the rate limit: %w", err)
		}
		resp, err := s.get(ctx, u, h, tok, limit)
		if err != nil || resp.status != http.StatusUnauthorized || attempt > 0 {
			return resp, err
		}
		s.log.Info("api refused the access token; refreshing it", "status", resp.status)
		s.tokens.invalidate(tok)
	}
}

func (s *Source) get(ctx context.Context, u string, h http.Header, tok string, limit int64) (*apiResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("api request: %w", err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set(HeaderAPIVersion, APIVersion)
	req.Header.Set("Accept", "application/json")
	what := "GET " + req.URL.Path
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", what, redactURLError(err), providers.ErrUnavailable)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: read answer: %w: %w", what, err, providers.ErrUnavailable)
	case int64(len(body)) > limit:
		return nil, fmt.Errorf("%s: answer over %d bytes: %w", what, limit, providers.ErrUnavailable)
	}
	return &apiResponse{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// classify returns nil for a 2xx answer; for 408, 429 and 5xx an error
// wrapping providers.ErrUnavailable (worth retrying later); for any other
// status a plain error. what names the endpoint.
func classify(what string, resp *http.Response) error {
	return statusError(what, resp.StatusCode, resp.Header)
}

func statusError(what string, status int, h http.Header) error {
	switch {
	case status/100 == 2:
		return nil
	case status == http.StatusTooManyRequests:
		ra := ""
		if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
			ra = fmt.Sprintf(" (Retry-After %s)", printable(v))
		}
		return fmt.Errorf("%s answered %s%s: %w", what, statusText(status), ra, providers.ErrRateLimited)
	case status == http.StatusRequestTimeout, status/100 == 5:
		return fmt.Errorf("%s answered %s: %w", what, statusText(status), providers.ErrUnavailable)
	}
	return fmt.Errorf("%s answered %s", what, statusText(status))
}

// statusText is "404 Not Found", or the bare code when it has no name.
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprint(code)
}
