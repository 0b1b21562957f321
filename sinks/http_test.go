package sinks_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/leadsync/leadsync/sinks"
)

func answer(code int, body string, header ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

func TestClassifyHTTPClasses(t *testing.T) {
	type class int
	const (
		done class = iota
		retry
		permanent
	)
	cases := []struct {
		code int
		want class
	}{
		{200, done}, {201, done}, {202, done}, {204, done}, {299, done},
		{408, retry}, {429, retry}, {500, retry}, {501, retry}, {502, retry}, {503, retry}, {504, retry}, {599, retry},
		{301, permanent}, {302, permanent}, {307, permanent}, {308, permanent},
		{400, permanent}, {401, permanent}, {403, permanent}, {404, permanent}, {409, permanent},
		{410, permanent}, {413, permanent}, {422, permanent}, {499, permanent},
		{100, retry}, {600, retry}, {999, retry},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			err := sinks.ClassifyHTTP(answer(c.code, "nope"), time.Hour)
			switch c.want {
			case done:
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			case retry:
				if err == nil || sinks.IsPermanent(err) {
					t.Fatalf("got %v, want retryable", err)
				}
			case permanent:
				if !sinks.IsPermanent(err) {
					t.Fatalf("got %v, want permanent", err)
				}
			}
			if _, ok := sinks.RetryDelay(err); ok {
				t.Errorf("retry delay without Retry-After: %v", err)
			}
			var he *sinks.HTTPError
			if !errors.As(err, &he) || he.Status != c.code || he.Body != "nope" {
				t.Fatalf("HTTPError = %+v, want status %d body nope", he, c.code)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(c.code)) || !strings.Contains(err.Error(), "nope") {
				t.Errorf("message %q lacks status or body", err)
			}
		})
	}
}

func TestClassifyHTTPRetryAfter(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	cases := []struct {
		name     string
		code     int
		header   string
		maxWait  time.Duration
		want     time.Duration
		slack    time.Duration
		hasDelay bool
	}{
		{"429 seconds", 429, "120", time.Hour, 120 * time.Second, 0, true},
		{"503 seconds", 503, "7", time.Hour, 7 * time.Second, 0, true},
		{"408 seconds", 408, "3", time.Hour, 3 * time.Second, 0, true},
		{"capped", 429, "86400", time.Hour, time.Hour, 0, true},
		{"no cap", 429, "86400", 0, 24 * time.Hour, 0, true},
		{"date", 503, date, time.Hour, 90 * time.Second, 2 * time.Second, true},
		{"past date", 503, "Sun, 06 Nov 1994 08:49:37 GMT", time.Hour, 0, 0, false},
		{"zero", 429, "0", time.Hour, 0, 0, false},
		{"garbage", 429, "soon", time.Hour, 0, 0, false},
		{"ignored on 400", 400, "120", time.Hour, 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := sinks.ClassifyHTTP(answer(c.code, "", "Retry-After", c.header), c.maxWait)
			if err == nil {
				t.Fatal("nil error")
			}
			got, ok := sinks.RetryDelay(err)
			if ok != c.hasDelay {
				t.Fatalf("RetryDelay ok = %v, want %v (%v)", ok, c.hasDelay, err)
			}
			if got > c.want+c.slack || got < c.want-c.slack {
				t.Errorf("delay = %v, want %v ± %v", got, c.want, c.slack)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 4, 12, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 120 * time.Second, true},
		{" 5 ", 5 * time.Second, true},
		{"0", 0, true},
		{"Fri, 12 Apr 2024 10:01:00 GMT", time.Minute, true},
		{"Friday, 12-Apr-24 10:00:30 GMT", 30 * time.Second, true}, // RFC 850
		{"Fri Apr 12 10:00:10 2024", 10 * time.Second, true},       // asctime
		{"Fri, 12 Apr 2024 09:00:00 GMT", 0, true},
		{"99999999999999999999999", time.Duration(1<<63 - 1), true},
		{"9223372037", time.Duration(1<<63 - 1), true},
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"tomorrow", 0, false},
	}
	for _, c := range cases {
		got, ok := sinks.ParseRetryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestClassifyHTTPBodySnippet(t *testing.T) {
	cases := map[string]string{
		"long ascii":   strings.Repeat("x", 10000),
		"long unicode": strings.Repeat("é", 5000),
		"cut emoji":    strings.Repeat("a", 510) + "😀😀",
		"invalid":      strings.Repeat("\xff\xfe", 600),
		"newlines":     "line one\nline two\r\n\tend",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			err := sinks.ClassifyHTTP(answer(500, body), 0)
			var he *sinks.HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("no HTTPError in %v", err)
			}
			if len(he.Body) > sinks.MaxBodySnippet || !utf8.ValidString(he.Body) {
				t.Fatalf("snippet %d bytes, valid %v", len(he.Body), utf8.ValidString(he.Body))
			}
			if strings.ContainsAny(he.Body, "\r\n\t") {
				t.Errorf("snippet has control characters: %q", he.Body)
			}
			if he.Body == "" {
				t.Error("empty snippet")
			}
		})
	}
}

// countingReader fails the test if the classifier reads a large body whole.
type countingReader struct{ n int }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	r.n += len(p)
	return len(p), nil
}

func TestClassifyHTTPReadsBounded(t *testing.T) {
	r := &countingReader{}
	resp := &http.Response{StatusCode: 502, Header: http.Header{}, Body: io.NopCloser(r)}
	if err := sinks.ClassifyHTTP(resp, 0); err == nil {
		t.Fatal("nil error")
	}
	if r.n > 4096 {
		t.Errorf("read %d bytes of an endless body", r.n)
	}
}

func TestClassifyHTTPNoRequestHeaders(t *testing.T) {
	req, _ := http.NewRequest("POST", "https://crm.example.com/leads?token=s3cret-query", nil)
	req.Header.Set("Authorization", "Bearer s3cret-header")
	resp := answer(401, "denied")
	resp.Request = req
	err := sinks.ClassifyHTTP(resp, 0)
	for _, s := range []string{"s3cret-header", "s3cret-query"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("%q in %q", s, err)
		}
	}
}

func TestClassifyHTTPNil(t *testing.T) {
	if err := sinks.ClassifyHTTP(nil, 0); err == nil || sinks.IsPermanent(err) {
		t.Errorf("nil response: %v", err)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestClassifyErr(t *testing.T) {
	if sinks.ClassifyErr(nil) != nil {
		t.Error("nil became an error")
	}
	canceled := fmt.Errorf("post: %w", context.Canceled)
	if got := sinks.ClassifyErr(canceled); got != canceled {
		t.Errorf("canceled changed: %v", got)
	}
	if got := sinks.ClassifyErr(context.Canceled); got != context.Canceled {
		t.Errorf("context.Canceled changed: %v", got)
	}

	refused := &url.Error{Op: "Post", URL: "https://u:pw@crm.example.com/x?token=abc#f", Err: errors.New("connection refused")}
	got := sinks.ClassifyErr(refused)
	if got == nil || sinks.IsPermanent(got) || strings.HasPrefix(got.Error(), "timeout") {
		t.Errorf("connection error: %v", got)
	}
	for _, s := range []string{"pw", "token", "abc"} {
		if strings.Contains(got.Error(), s) {
			t.Errorf("%q in %q", s, got)
		}
	}
	if !strings.Contains(got.Error(), "crm.example.com/x") {
		t.Errorf("peer missing from %q", got)
	}

	for _, err := range []error{
		context.DeadlineExceeded,
		&url.Error{Op: "Post", URL: "http://x", Err: context.DeadlineExceeded},
		&url.Error{Op: "Post", URL: "http://x", Err: timeoutErr{}},
	} {
		got := sinks.ClassifyErr(err)
		if !strings.HasPrefix(got.Error(), "timeout: ") || sinks.IsPermanent(got) {
			t.Errorf("ClassifyErr(%v) = %v", err, got)
		}
		if !errors.Is(got, context.DeadlineExceeded) && !errors.As(got, new(timeoutErr)) {
			t.Errorf("cause lost: %v", got)
		}
	}

	perm := sinks.Permanent(errors.New("bad"))
	if !sinks.IsPermanent(sinks.ClassifyErr(perm)) {
		t.Error("permanent lost its class")
	}
}

func TestUserAgent(t *testing.T) {
	if ua := sinks.UserAgent(); !strings.HasPrefix(ua, "leadsync/") || len(ua) <= len("leadsync/") {
		t.Errorf("UserAgent() = %q", ua)
	}
}
