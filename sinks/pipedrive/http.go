package pipedrive

// Calling Pipedrive's JSON API and turning its answers into the Sink
// contract's error classes: sinks.ClassifyHTTP first, Pipedrive's own rules
// (rate-limit headers, account-level refusals) on top.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/leadsync/leadsync/sinks"
)

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 4 << 20

// Waits after a 429 that says nothing more precise.
const (
	// burstWindow is Pipedrive's rate-limit window.
	burstWindow = 2 * time.Second
)

// call sends a JSON request (in, unless nil) to path below the API root and
// decodes the "data" of a 2xx answer into out (unless nil). what names the
// step in errors. The token goes in the x-api-token header, never in the
// URL, where it would reach proxies' logs.
func (s *Sink) call(ctx context.Context, what, method, path string, query url.Values, in, out any) error {
	u := s.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return sinks.Permanent(fmt.Errorf("%s: encode: %w", what, err))
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return sinks.Permanent(fmt.Errorf("%s: build request: %w", what, err))
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	a, err := s.do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := s.classify(a); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var env struct {
		Success bool            `json:"success"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(a.Body, &env); err != nil || !env.Success {
		return fmt.Errorf("%s: unexpected answer: %w", what, &sinks.HTTPError{Status: a.Status, Body: sinks.Snippet(string(a.Body))})
	}
	if out != nil && len(env.Data) > 0 && string(env.Data) != "null" {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return fmt.Errorf("%s: unexpected answer: %v: %w", what, err, &sinks.HTTPError{Status: a.Status, Body: sinks.Snippet(string(a.Body))})
		}
	}
	return nil
}

// do sends req with the token and reads the answer, the token scrubbed from
// it. A failure to get one comes back classified by sinks.ClassifyErr.
func (s *Sink) do(req *http.Request) (*sinks.APIAnswer, error) {
	req.Header.Set("x-api-token", s.token)
	a, err := sinks.Send(s.client, req, maxAnswer, s.token)
	if err != nil {
		return nil, err
	}
	s.log.Debug("pipedrive answer", "method", req.Method, "path", req.URL.Path, "status", a.Status)
	return a, nil
}

// classify is sinks.ClassifyHTTP with Pipedrive's rules on top: a 429
// without Retry-After waits as its x-ratelimit-* headers say; 401 (token
// refused) and 402 (subscription lapsed) concern the account, not the
// lead, and are retried until the operator fixes them.
func (s *Sink) classify(a *sinks.APIAnswer) error {
	err := a.Classify(s.maxWait)
	if err == nil {
		return nil
	}
	var he *sinks.HTTPError
	errors.As(err, &he)
	switch a.Status {
	case http.StatusTooManyRequests:
		if _, ok := sinks.RetryDelay(err); !ok {
			return sinks.RetryAfter(err, min(rateLimitWait(a.Header, time.Now()), s.maxWait))
		}
	case http.StatusUnauthorized:
		return fmt.Errorf("token refused (check the API token; deliveries are retried): %w", he)
	case http.StatusPaymentRequired:
		return fmt.Errorf("account refused (check the Pipedrive subscription; deliveries are retried): %w", he)
	}
	return err
}

// rateLimitWait reads how long Pipedrive wants us to stay away: until the
// next UTC day when the daily budget is spent (x-daily-requests-left: 0),
// else x-ratelimit-reset seconds, else one 2-second window.
func rateLimitWait(h http.Header, now time.Time) time.Duration {
	if left, ok := headerInt(h, "x-daily-requests-left"); ok && left <= 0 {
		next := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
		return next.Sub(now)
	}
	if reset, ok := headerInt(h, "x-ratelimit-reset"); ok && reset > 0 {
		return time.Duration(reset) * time.Second
	}
	return burstWindow
}

// headerInt parses an integer header.
func headerInt(h http.Header, name string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(h.Get(name)), 10, 64)
	return n, err == nil
}
