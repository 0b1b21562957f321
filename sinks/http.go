package sinks

// This file is the one place where an HTTP peer's answer, or the failure to
// get one, becomes one of the error classes of the Sink contract. Every HTTP
// sink (webhook, CRMs) calls ClassifyHTTP and ClassifyErr rather than reading
// status codes itself, so that "what is retried" is the same everywhere.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxBodySnippet bounds HTTPError.Body in bytes. Dead letters keep it, logs
// print it, so it must stay short whatever the peer sends.
const MaxBodySnippet = 512

// HTTPError is a non-2xx answer of an HTTP peer: the status and a short,
// valid UTF-8, single-line snippet of the response body (at most
// MaxBodySnippet bytes). ClassifyHTTP wraps it in the error class the status
// calls for; find it with errors.As to keep status and body in a dead letter.
type HTTPError struct {
	Status int
	Body   string
}

// Error reads "http 503 Service Unavailable: <body snippet>".
func (e *HTTPError) Error() string {
	msg := "http " + strconv.Itoa(e.Status)
	if text := http.StatusText(e.Status); text != "" {
		msg += " " + text
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// ClassifyHTTP maps an HTTP answer to the Sink contract:
//
//   - 2xx: nil, the peer has the lead;
//   - 408, 429 and 5xx: a retryable error, wrapped by RetryAfter when the
//     answer carries a Retry-After (seconds or HTTP-date) in the future, the
//     wait capped at maxWait (maxWait <= 0: no cap);
//   - 3xx (redirects are not followed: a redirected POST would lose its body
//     or its signature), 410 and every other 4xx: Permanent;
//   - anything else (1xx, 6xx…), a broken peer that may be fixed: retryable.
//
// Every error wraps an *HTTPError. ClassifyHTTP reads at most MaxBodySnippet+1
// bytes of a non-2xx body and never touches the request, so request headers
// (credentials) cannot leak into the error. The caller still owns and closes
// resp.Body.
func ClassifyHTTP(resp *http.Response, maxWait time.Duration) error {
	if resp == nil {
		return errors.New("http: no response")
	}
	code := resp.StatusCode
	if code >= 200 && code <= 299 {
		return nil
	}
	err := &HTTPError{Status: code, Body: readSnippet(resp.Body)}
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500 && code <= 599:
		after, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if !ok || after <= 0 {
			return err
		}
		if maxWait > 0 && after > maxWait {
			after = maxWait
		}
		return RetryAfter(err, after)
	case code >= 300 && code <= 499:
		return Permanent(err)
	default:
		return err
	}
}

// readSnippet returns the start of body as one line of valid UTF-8 of at most
// MaxBodySnippet bytes, "…" marking a cut. Read errors only shorten it: the
// status already says what matters.
func readSnippet(body io.Reader) string {
	if body == nil {
		return ""
	}
	buf, _ := io.ReadAll(io.LimitReader(body, MaxBodySnippet+1))
	cut := len(buf) > MaxBodySnippet
	if cut {
		buf = buf[:MaxBodySnippet-len("…")]
		buf = dropPartialRune(buf)
	}
	// One replacement per run of invalid bytes, and a 1-byte one, so the
	// snippet never grows; control characters would break log lines.
	s := strings.ToValidUTF8(string(buf), "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if cut {
		s += "…"
	}
	return s
}

// dropPartialRune removes a multi-byte character cut in half at the end of b.
func dropPartialRune(b []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}

// maxRetrySeconds is the largest Retry-After in seconds a Duration can hold.
const maxRetrySeconds = math.MaxInt64 / int64(time.Second)

// ParseRetryAfter parses a Retry-After header value: delay-seconds or an
// HTTP-date, the latter relative to now (a date in the past gives 0). ok is
// false when h is empty or neither form. A delay too large for a Duration
// saturates; callers cap it anyway.
func ParseRetryAfter(h string, now time.Time) (d time.Duration, ok bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if strings.Trim(h, "0123456789") == "" {
		n, err := strconv.ParseInt(h, 10, 64)
		if err != nil || n > maxRetrySeconds { // only ErrRange can happen here
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// ClassifyErr classifies an error from sending a request (no answer came):
// connection failures and timeouts are plain, retryable errors; a timeout is
// prefixed with "timeout: " so that it reads as one. context.Canceled is
// returned as is, because it means leadsync is stopping, not that the peer
// failed. The URL inside a *url.Error loses its query and user info, which
// may hold credentials. nil stays nil; an error already classified stays so.
func ClassifyErr(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	if ue, ok := err.(*url.Error); ok {
		err = &url.Error{Op: ue.Op, URL: RedactURL(ue.URL), Err: ue.Err}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("timeout: %w", err)
	}
	return err
}

// HideURL gives err, an error of the HTTP client (which wraps every error
// in a *url.Error quoting the request's URL), the URL as the sink shows it:
// a sink whose URL holds a credential in its path passes what it shows
// instead. Call it on the client's error, before ClassifyErr or any other
// wrapping (a wrapper's text is made when it is): what wraps the
// *url.Error is not kept. Other errors are returned as they are.
func HideURL(err error, shown string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: shown, Err: ue.Err}
	}
	return err
}

// RedactURL returns raw without user info, query and fragment, which may hold
// credentials; what is left still says which peer failed. An unparsable URL
// becomes "(url)".
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(url)"
	}
	if u.User == nil && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" {
		return raw // nothing to take out: as it was given, not re-escaped
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// UserAgent is the User-Agent every HTTP sink sends: "leadsync/<version>",
// the version of the main module as the build recorded it, "dev" otherwise.
// Peers' operators can then tell leadsync's requests (and its version) apart.
var UserAgent = sync.OnceValue(func() string {
	v := "dev"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return "leadsync/" + v
})

// PeerStatus implements PeerAnswer.
func (e *HTTPError) PeerStatus() int { return e.Status }

// PeerResponse implements PeerAnswer.
func (e *HTTPError) PeerResponse() string { return e.Body }
