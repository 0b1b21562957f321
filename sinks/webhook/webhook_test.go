package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/sinktest"
	"github.com/leadsync/leadsync/sinks/webhook"
)

const (
	testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	testAuth   = "Bearer tok_9f8e7d6c5b4a3210"
)

// accept checks a request the way a Standard Webhooks receiver does, plus
// the headers leadsync promises.
func accept(tolerance time.Duration, now func() time.Time) sinktest.AcceptFunc {
	return func(r *http.Request, body []byte) (sinktest.Received, error) {
		var errs []error
		if r.Method != http.MethodPost {
			errs = append(errs, fmt.Errorf("method %s", r.Method))
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			errs = append(errs, fmt.Errorf("content-type %q", ct))
		}
		if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "leadsync/") {
			errs = append(errs, fmt.Errorf("user-agent %q", ua))
		}
		if got := r.Header.Get("Authorization"); got != testAuth {
			errs = append(errs, errors.New("configured Authorization header missing"))
		}
		if err := webhook.Verify(testSecret, r.Header, body, tolerance, now()); err != nil {
			errs = append(errs, err)
		}
		return sinktest.Received{ID: r.Header.Get("webhook-id"), Body: body}, errors.Join(errs...)
	}
}

func newSink(t *testing.T, url string, mod ...func(*webhook.Config)) *webhook.Sink {
	t.Helper()
	c := webhook.Config{
		Name:    "crm-hook",
		URL:     url,
		Secret:  testSecret,
		Headers: map[string]string{"Authorization": testAuth},
		Logger:  slog.New(slog.DiscardHandler),
	}
	for _, m := range mod {
		m(&c)
	}
	s, err := webhook.New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestAcceptance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T, peer sinktest.Peer) sinks.Sink {
			return newSink(t, peer.Addr())
		},
		Accept:  accept(webhook.DefaultTolerance, time.Now),
		Secrets: []string{testSecret, strings.TrimPrefix(testSecret, "whsec_"), "tok_9f8e7d6c5b4a3210"},
	})
}

// attempt is one request as the scripted server saw it.
type attempt struct {
	id, ts, sig string
	err         error
}

// server answers the i-th request (from 0) with script(i, w) after checking
// it per spec with Verify; tolerance 0 because tests move the sink's clock.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	attempts []attempt
}

func newServer(t *testing.T, script func(i int, w http.ResponseWriter, r *http.Request)) *server {
	s := &server{}
	check := accept(0, time.Now)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, err := check(r, body)
		s.mu.Lock()
		i := len(s.attempts)
		s.attempts = append(s.attempts, attempt{
			id: r.Header.Get("webhook-id"), ts: r.Header.Get("webhook-timestamp"),
			sig: r.Header.Get("webhook-signature"), err: err,
		})
		s.mu.Unlock()
		script(i, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) seen(t *testing.T) []attempt {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, a := range s.attempts {
		if a.err != nil {
			t.Errorf("attempt %d broke the spec: %v", i+1, a.err)
		}
	}
	return append([]attempt(nil), s.attempts...)
}

func status(codes ...int) func(int, http.ResponseWriter, *http.Request) {
	return func(i int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(codes[min(i, len(codes)-1)])
	}
}

// steppingClock advances a minute at every reading, so that each attempt
// gets its own timestamp even within one second.
func steppingClock() func() time.Time {
	var n atomic.Int64
	start := time.Unix(1_700_000_000, 0)
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Minute) }
}

func TestDeliverRequest(t *testing.T) {
	paths := make(chan string, 1)
	srv := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.Path
		w.WriteHeader(http.StatusNoContent)
	})
	s := newSink(t, srv.URL+"/leads")
	d := sinktest.Sample(1)
	before := time.Now().Unix()
	if err := s.Deliver(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	a := srv.seen(t)
	if len(a) != 1 {
		t.Fatalf("%d attempts", len(a))
	}
	if a[0].id != d.ID {
		t.Errorf("webhook-id %q, want %q", a[0].id, d.ID)
	}
	ts, _ := strconv.ParseInt(a[0].ts, 10, 64)
	if ts < before || ts > time.Now().Unix() {
		t.Errorf("webhook-timestamp %d is not now", ts)
	}
	want, _ := webhook.Sign(testSecret, d.ID, ts, d.Body)
	if a[0].sig != want {
		t.Errorf("webhook-signature %q, want %q", a[0].sig, want)
	}
	if p := <-paths; p != "/leads" {
		t.Errorf("path %q", p)
	}
}

func TestDeliverBodyExact(t *testing.T) {
	bodies := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- b
	}))
	defer srv.Close()
	d := sinktest.Sample(1)
	if err := newSink(t, srv.URL).Deliver(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if got := <-bodies; !bytes.Equal(got, d.Body) {
		t.Errorf("body %s, want %s", got, d.Body)
	}
}

func TestDeliverRetries503ThenOK(t *testing.T) {
	srv := newServer(t, status(503, 200))
	s := newSink(t, srv.URL)
	webhook.SetClock(s, steppingClock())
	d := sinktest.Sample(1)
	if err := s.Deliver(t.Context(), d); err != nil {
		t.Fatalf("Deliver = %v, want nil after a quick retry", err)
	}
	a := srv.seen(t)
	if len(a) != 2 {
		t.Fatalf("%d attempts, want 2", len(a))
	}
	if a[0].id != d.ID || a[1].id != d.ID {
		t.Errorf("webhook-id changed across attempts: %q, %q", a[0].id, a[1].id)
	}
	if a[0].ts >= a[1].ts || a[0].sig == a[1].sig {
		t.Errorf("attempt 2 was not re-signed: ts %s → %s", a[0].ts, a[1].ts)
	}
}

func TestDeliverQuickRetriesAreFew(t *testing.T) {
	srv := newServer(t, status(503))
	start := time.Now()
	err := newSink(t, srv.URL).Deliver(t.Context(), sinktest.Sample(1))
	if err == nil || sinks.IsPermanent(err) {
		t.Fatalf("Deliver = %v, want retryable", err)
	}
	if n := len(srv.seen(t)); n != 3 {
		t.Errorf("%d attempts, want 1 + 2 quick retries", n)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
	var he *sinks.HTTPError
	if !errors.As(err, &he) || he.Status != 503 {
		t.Errorf("no HTTPError 503 in %v", err)
	}
}

func TestDeliverLongRetryAfterGoesBack(t *testing.T) {
	for _, code := range []int{429, 503} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "120")
				w.WriteHeader(code)
			})
			s := newSink(t, srv.URL, func(c *webhook.Config) { c.MaxRetryWait = time.Minute })
			start := time.Now()
			err := s.Deliver(t.Context(), sinktest.Sample(1))
			if after, ok := sinks.RetryDelay(err); !ok || after != time.Minute {
				t.Errorf("RetryDelay(%v) = %v, %v; want 1m (capped)", err, after, ok)
			}
			if n := len(srv.seen(t)); n != 1 {
				t.Errorf("%d attempts; a long Retry-After is the dispatcher's to wait", n)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("waited %v in process", took)
			}
		})
	}
}

func TestDeliverShortRetryAfterRetried(t *testing.T) {
	srv := newServer(t, func(i int, w http.ResponseWriter, _ *http.Request) {
		if i == 0 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	if err := newSink(t, srv.URL).Deliver(t.Context(), sinktest.Sample(1)); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.seen(t)); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}

func TestDeliver429WithoutRetryAfter(t *testing.T) {
	srv := newServer(t, status(429))
	err := newSink(t, srv.URL).Deliver(t.Context(), sinktest.Sample(1))
	if err == nil || sinks.IsPermanent(err) {
		t.Fatalf("Deliver = %v, want retryable", err)
	}
	if n := len(srv.seen(t)); n != 1 {
		t.Errorf("%d attempts; a rate limit wants real backoff", n)
	}
}

func TestDeliverPermanent(t *testing.T) {
	for _, code := range []int{400, 401, 404, 410, 422, 301, 302, 307} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			var redirected atomic.Bool
			target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { redirected.Store(true) }))
			defer target.Close()
			srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Location", target.URL)
				w.WriteHeader(code)
				_, _ = io.WriteString(w, `{"error":"no such lead list"}`)
			})
			err := newSink(t, srv.URL).Deliver(t.Context(), sinktest.Sample(1))
			if !sinks.IsPermanent(err) {
				t.Fatalf("Deliver = %v, want permanent", err)
			}
			var he *sinks.HTTPError
			if !errors.As(err, &he) || he.Status != code || !strings.Contains(he.Body, "no such lead list") {
				t.Errorf("HTTPError = %+v", he)
			}
			if n := len(srv.seen(t)); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
			if redirected.Load() {
				t.Error("redirect followed")
			}
		})
	}
}

func TestDeliverConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/leads?token=query-secret-123"
	srv.Close()
	err := newSink(t, url).Deliver(t.Context(), sinktest.Sample(1))
	if err == nil || sinks.IsPermanent(err) || errors.Is(err, context.Canceled) {
		t.Fatalf("Deliver = %v, want retryable", err)
	}
	if strings.Contains(err.Error(), "query-secret-123") {
		t.Errorf("error %q carries the URL's query", err)
	}
}

func TestDeliverTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	s := newSink(t, srv.URL, func(c *webhook.Config) { c.Timeout = 200 * time.Millisecond })
	start := time.Now()
	err := s.Deliver(context.Background(), sinktest.Sample(1))
	if !errors.Is(err, context.DeadlineExceeded) || sinks.IsPermanent(err) {
		t.Errorf("Deliver = %v, want a retryable timeout", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Config.Timeout 200ms, returned after %v", took)
	}
}

func TestDeliverCanceled(t *testing.T) {
	srv := newServer(t, func(_ int, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	err := newSink(t, srv.URL).Deliver(ctx, sinktest.Sample(1))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Deliver = %v, want context.Canceled", err)
	}
}

func TestSecretsStayOutOfErrors(t *testing.T) {
	// A careless peer echoes everything it was sent.
	srv := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "auth=%s token=%s secret=%s", r.Header.Get("Authorization"),
			strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), testSecret)
	})
	err := newSink(t, srv.URL).Deliver(t.Context(), sinktest.Sample(1))
	if err == nil {
		t.Fatal("nil error")
	}
	for _, s := range []string{testAuth, "tok_9f8e7d6c5b4a3210", testSecret, strings.TrimPrefix(testSecret, "whsec_")} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q carries %q", err, s)
		}
	}
}

// A hook URL carries its token in the path or the query; a peer whose
// error page echoes the request line must not put it into the error (and
// so into a dead letter or the log).
func TestURLTokensStayOutOfErrors(t *testing.T) {
	srv := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		// The whole path, and a segment of it alone: a hook URL's token is
		// one segment, and an error page may quote just that.
		segs := strings.Split(r.URL.Path, "/")
		fmt.Fprintf(w, "no hook at %s (path %s, hook %s, key %s)", r.URL.RequestURI(), r.URL.Path, segs[len(segs)-1], r.URL.Query().Get("key"))
	})
	err := newSink(t, srv.URL+"/hooks/catch/123/s3cr3tpath?key=querytoken99").Deliver(t.Context(), sinktest.Sample(1))
	if err == nil {
		t.Fatal("nil error")
	}
	for _, s := range []string{"s3cr3tpath", "querytoken99"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q carries %q", err, s)
		}
	}
	if !strings.Contains(err.Error(), "no hook at") {
		t.Errorf("error %q lost the peer's answer", err)
	}
}

func TestDeliverNeedsID(t *testing.T) {
	d := sinktest.Sample(1)
	d.ID = ""
	if err := newSink(t, "http://127.0.0.1:1").Deliver(t.Context(), d); !sinks.IsPermanent(err) {
		t.Errorf("Deliver without id = %v, want permanent", err)
	}
}

func TestHeaders(t *testing.T) {
	headers := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { headers <- r.Header }))
	defer srv.Close()
	s := newSink(t, srv.URL, func(c *webhook.Config) {
		c.Headers = map[string]string{"user-agent": "agency-bot/2", "X-Tenant": "acme"}
	})
	if err := s.Deliver(t.Context(), sinktest.Sample(1)); err != nil {
		t.Fatal(err)
	}
	got := <-headers
	if got.Get("User-Agent") != "agency-bot/2" || got.Get("X-Tenant") != "acme" {
		t.Errorf("headers %v", got)
	}
}

func TestNewRejects(t *testing.T) {
	ok := webhook.Config{Name: "x", URL: "https://crm.example.com/leads", Secret: testSecret}
	cases := map[string]struct {
		mod  func(*webhook.Config)
		want string
	}{
		"no prefix":     {func(c *webhook.Config) { c.Secret = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }, "secret:"},
		"not base64":    {func(c *webhook.Config) { c.Secret = "whsec_MfKQ9r8GKY!!" }, "secret:"},
		"empty secret":  {func(c *webhook.Config) { c.Secret = "" }, "secret:"},
		"empty key":     {func(c *webhook.Config) { c.Secret = "whsec_" }, "secret:"},
		"relative url":  {func(c *webhook.Config) { c.URL = "/leads" }, "url:"},
		"ftp url":       {func(c *webhook.Config) { c.URL = "ftp://crm.example.com/" }, "url:"},
		"no host":       {func(c *webhook.Config) { c.URL = "https:///leads" }, "url:"},
		"reserved":      {func(c *webhook.Config) { c.Headers = map[string]string{"Webhook-Signature": "x"} }, "headers: Webhook-Signature"},
		"content-type":  {func(c *webhook.Config) { c.Headers = map[string]string{"content-type": "text/plain"} }, "headers: Content-Type"},
		"bad name":      {func(c *webhook.Config) { c.Headers = map[string]string{"X Bad": "x"} }, "headers:"},
		"crlf in value": {func(c *webhook.Config) { c.Headers = map[string]string{"X-A": "a\r\nX-B: b"} }, "headers: X-A"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			c.mod(&cfg)
			_, err := webhook.New(cfg)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("New = %v, want %q…", err, c.want)
			}
			if cfg.Secret != "" && strings.Contains(err.Error(), strings.TrimPrefix(cfg.Secret, "whsec_")) && len(cfg.Secret) > 6 {
				t.Errorf("error quotes the secret")
			}
		})
	}
}

func TestConfigPrintsNoSecrets(t *testing.T) {
	c := webhook.Config{Name: "crm", URL: "https://u:pw@crm.example.com/x?key=abc", Secret: testSecret,
		Headers: map[string]string{"Authorization": testAuth}}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("sink", "config", c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), buf.String()} {
		for _, s := range []string{testSecret, testAuth, "pw", "abc"} {
			if strings.Contains(out, s) {
				t.Errorf("%q shows %q", out, s)
			}
		}
	}
}

// A hook URL is often a credential in its path (Zapier, Slack): neither
// the sink's String nor the error of a peer that cannot be reached shows
// it, while the host still says which peer it was.
func TestURLPathIsNotShown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	c := webhook.Config{Name: "zap", URL: "http://" + addr + "/hooks/catch/123/s3cr3tpath/?k=q1", Secret: testSecret,
		Timeout: 2 * time.Second, MaxRetryWait: time.Millisecond}
	s, err := webhook.New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	derr := s.Deliver(context.Background(), sinks.Delivery{ID: "d-1", Body: []byte(`{}`)})
	if derr == nil {
		t.Fatal("delivery to a closed port succeeded")
	}
	for _, out := range []string{derr.Error(), fmt.Sprint(c)} {
		for _, secret := range []string{"s3cr3tpath", "catch", "q1"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q shows %q", out, secret)
			}
		}
		if !strings.Contains(out, addr+"/…") {
			t.Errorf("%q does not name the peer %s", out, addr)
		}
	}
	if sinks.IsPermanent(derr) {
		t.Errorf("connection refused classified permanent: %v", derr)
	}
	// A path whose text also occurs in the host is hidden all the same,
	// and the host is shown whole (hiding by search and replace once
	// showed "http:/…27.0.0.1:…/…").
	c.URL = "https://api.example.com/api?k=q1"
	if got := fmt.Sprint(c); !strings.HasSuffix(got, "to https://api.example.com/…") {
		t.Errorf("String = %q", got)
	}
	c.URL = "http://" + addr + "/1"
	s2, err := webhook.New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	derr = s2.Deliver(context.Background(), sinks.Delivery{ID: "d-2", Body: []byte(`{}`)})
	if derr == nil || !strings.Contains(derr.Error(), `"http://`+addr+`/…"`) {
		t.Errorf("error %v does not show the URL as http://%s/…", derr, addr)
	}
}
