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
	"unicode"
	"unicode/utf8"

	"github.com/leadsync/leadsync/sinks"
)

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 4 << 20

// minSecret is the shortest token scrubbed from answers: shorter ones would
// blank out ordinary words.
const minSecret = 6

// Waits after a 429 that says nothing more precise.
const (
	// burstWindow is Pipedrive's rate-limit window.
	burstWindow = 2 * time.Second
)

// answer is a peer's HTTP answer, body read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// newClient returns the client to send with and whether the sink owns it.
// Redirects are not followed: the token must go to the configured host only.
func newClient(given *http.Client) (*http.Client, bool) {
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if given != nil {
		c := *given
		if c.CheckRedirect == nil {
			c.CheckRedirect = noRedirect
		}
		return &c, false
	}
	return &http.Client{
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: noRedirect,
	}, true
}

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
	if err := json.Unmarshal(a.body, &env); err != nil || !env.Success {
		return fmt.Errorf("%s: unexpected answer: %w", what, &sinks.HTTPError{Status: a.status, Body: short(string(a.body))})
	}
	if out != nil && len(env.Data) > 0 && string(env.Data) != "null" {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return fmt.Errorf("%s: unexpected answer: %v: %w", what, err, &sinks.HTTPError{Status: a.status, Body: short(string(a.body))})
		}
	}
	return nil
}

// do sends req with the sink's headers and reads the answer. A failure to
// get one comes back classified by sinks.ClassifyErr.
func (s *Sink) do(req *http.Request) (*answer, error) {
	req.Header.Set("x-api-token", s.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", sinks.UserAgent())
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, sinks.ClassifyErr(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil, sinks.ClassifyErr(err)
	}
	s.log.Debug("pipedrive answer", "method", req.Method, "path", req.URL.Path, "status", resp.StatusCode)
	// A careless peer may echo our request headers; the token must not
	// reach an error, a dead letter or a log line from here.
	if len(s.token) >= minSecret {
		body = bytes.ReplaceAll(body, []byte(s.token), []byte("***"))
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// classify is sinks.ClassifyHTTP with Pipedrive's rules on top: a 429
// without Retry-After waits as its x-ratelimit-* headers say; 401 (token
// refused) and 402 (subscription lapsed) concern the account, not the
// lead, and are retried until the operator fixes them.
func (s *Sink) classify(a *answer) error {
	resp := &http.Response{StatusCode: a.status, Header: a.header, Body: io.NopCloser(bytes.NewReader(a.body))}
	err := sinks.ClassifyHTTP(resp, s.maxWait)
	if err == nil {
		return nil
	}
	var he *sinks.HTTPError
	errors.As(err, &he)
	switch a.status {
	case http.StatusTooManyRequests:
		if _, ok := sinks.RetryDelay(err); !ok {
			return sinks.RetryAfter(err, min(rateLimitWait(a.header, time.Now()), s.maxWait))
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

// short returns s as one line of valid UTF-8 of at most
// sinks.MaxBodySnippet bytes, for text leadsync puts in an HTTPError itself.
func short(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) <= sinks.MaxBodySnippet {
		return s
	}
	cut := sinks.MaxBodySnippet - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
