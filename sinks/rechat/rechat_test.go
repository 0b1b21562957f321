package rechat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/rechat"
	"github.com/leadsync/leadsync/sinks/sinktest"
	"github.com/leadsync/leadsync/sync/lead"
)

const channel = "55f50bdd-fc93-4737-84e4-6fa5ad97745f"

// decode reads a body strictly as the documented shape: unknown fields,
// wrong types and a missing source_type are refused.
func decode(body []byte) (rechat.Payload, error) {
	var p rechat.Payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("body: %w", err)
	}
	var raw map[string]any
	_ = json.Unmarshal(body, &raw)
	if s, _ := raw["source_type"].(string); s == "" {
		return p, errors.New("body: source_type is required")
	}
	return p, nil
}

// accept checks a request as the Lead Capture API documents it.
func accept(r *http.Request, body []byte) (sinktest.Received, error) {
	var errs []error
	if r.Method != http.MethodPost {
		errs = append(errs, fmt.Errorf("method %s", r.Method))
	}
	if want := "/leads/channels/" + channel + "/webhook"; r.URL.Path != want {
		errs = append(errs, fmt.Errorf("path %q", r.URL.Path))
	}
	if r.URL.RawQuery != "" {
		errs = append(errs, fmt.Errorf("query %q", r.URL.RawQuery))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		errs = append(errs, fmt.Errorf("content-type %q", ct))
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "leadsync/") {
		errs = append(errs, fmt.Errorf("user-agent %q", ua))
	}
	id := r.Header.Get("Idempotency-Key")
	if id == "" || r.Header.Get("X-Request-Id") != id {
		errs = append(errs, errors.New("Idempotency-Key and X-Request-Id must carry the delivery id"))
	}
	p, err := decode(body)
	if err != nil {
		errs = append(errs, err)
	} else if !strings.HasSuffix(p.Note, " delivery "+id) {
		errs = append(errs, fmt.Errorf("note does not end with the delivery id: %q", p.Note))
	}
	return sinktest.Received{ID: id, Body: body}, errors.Join(errs...)
}

// same checks the mapped fields against the lead.
func same(d sinks.Delivery, r sinktest.Received) error {
	p, err := decode(r.Body)
	if err != nil {
		return err
	}
	l := d.Lead
	var errs []error
	check := func(field, got, want string) {
		if got != want {
			errs = append(errs, fmt.Errorf("%s %q, want %q", field, got, want))
		}
	}
	check("first_name", p.FirstName, *l.Person.FirstName)
	check("last_name", p.LastName, *l.Person.LastName)
	check("email", p.Email, *l.Person.Email)
	check("phone_number", p.PhoneNumber, *l.Person.Phone)
	for _, s := range []string{*l.Interest.Message, l.ID, d.ID} {
		if !strings.Contains(p.Note, s) {
			errs = append(errs, fmt.Errorf("note lacks %q", s))
		}
	}
	return errors.Join(errs...)
}

func newSink(t *testing.T, apiURL string, mod ...func(*rechat.Config)) *rechat.Sink {
	t.Helper()
	c := rechat.Config{Name: "rechat", APIURL: apiURL, Channel: channel, Logger: slog.New(slog.DiscardHandler)}
	for _, m := range mod {
		m(&c)
	}
	s, err := rechat.New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestAcceptance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		New:     func(t *testing.T, p sinktest.Peer) sinks.Sink { return newSink(t, p.Addr()) },
		Accept:  accept,
		Same:    same,
		Secrets: []string{channel, strings.ToUpper(channel)},
	})
}

// server answers every request with answer after checking it with accept.
func server(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body []byte)) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		body, _ := io.ReadAll(r.Body)
		if _, err := accept(r, body); err != nil {
			t.Errorf("request broke the contract: %v", err)
		}
		answer(w, r, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// noChannel fails t if err shows the channel in any case.
func noChannel(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(strings.ToLower(err.Error()), strings.ToLower(channel)) {
		t.Errorf("error %q shows the channel", err)
	}
}

func TestClassification(t *testing.T) {
	cases := []struct {
		status     int
		retryAfter string
		permanent  bool
		delay      time.Duration
	}{
		{200, "", false, 0},
		{204, "", false, 0},
		{429, "30", false, 30 * time.Second},
		{429, "7200", false, time.Hour}, // capped by MaxRetryWait
		{429, "", false, 0},
		{408, "", false, 0},
		{500, "", false, 0},
		{502, "", false, 0},
		{503, "120", false, 2 * time.Minute},
		{400, "", true, 0},
		{401, "", true, 0},
		{404, "", true, 0},
		{410, "", true, 0},
		{422, "", true, 0},
		{301, "", true, 0},
	}
	for _, c := range cases {
		t.Run(strconv.Itoa(c.status)+"/"+c.retryAfter, func(t *testing.T) {
			target, hit := server(t, func(http.ResponseWriter, *http.Request, []byte) {})
			srv, n := server(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				if c.retryAfter != "" {
					w.Header().Set("Retry-After", c.retryAfter)
				}
				w.Header().Set("Location", target.URL+r.URL.Path)
				w.WriteHeader(c.status)
				// A careless API echoes the path, channel and all.
				fmt.Fprintf(w, `{"code":"E","message":"channel %s at %s"}`, strings.ToUpper(channel), r.URL.Path)
			})
			err := newSink(t, srv.URL).Deliver(t.Context(), sinktest.Sample(1))
			noChannel(t, err)
			if c.status < 300 {
				if err != nil {
					t.Fatalf("Deliver = %v", err)
				}
				return
			}
			var he *sinks.HTTPError
			if !errors.As(err, &he) || he.Status != c.status || !strings.Contains(he.Body, "/leads/channels/***/webhook") {
				t.Errorf("Deliver = %v, want HTTPError %d with the body, channel scrubbed", err, c.status)
			}
			if sinks.IsPermanent(err) != c.permanent {
				t.Errorf("Deliver = %v; permanent %v, want %v", err, sinks.IsPermanent(err), c.permanent)
			}
			if got, ok := sinks.RetryDelay(err); got != c.delay || ok != (c.delay > 0) {
				t.Errorf("RetryDelay = %v, %v; want %v", got, ok, c.delay)
			}
			if n.Load() != 1 || hit.Load() != 0 {
				t.Errorf("%d requests and %d redirected; want exactly one, no retry in process", n.Load(), hit.Load())
			}
		})
	}
}

func TestConnectionErrorsHideChannel(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	err := newSink(t, url).Deliver(t.Context(), sinktest.Sample(1))
	if err == nil || sinks.IsPermanent(err) {
		t.Fatalf("Deliver = %v, want retryable", err)
	}
	if !strings.Contains(err.Error(), "/leads/channels/***/webhook") {
		t.Errorf("error %q does not say which endpoint failed", err)
	}
	noChannel(t, err)
}

func TestTimeoutHidesChannel(t *testing.T) {
	srv, _ := server(t, func(_ http.ResponseWriter, r *http.Request, _ []byte) { <-r.Context().Done() })
	s := newSink(t, srv.URL, func(c *rechat.Config) { c.Timeout = 100 * time.Millisecond })
	err := s.Deliver(context.Background(), sinktest.Sample(1))
	if !errors.Is(err, context.DeadlineExceeded) || sinks.IsPermanent(err) {
		t.Errorf("Deliver = %v, want a retryable timeout", err)
	}
	noChannel(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	err = newSink(t, srv.URL).Deliver(ctx, sinktest.Sample(1))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Deliver = %v, want context.Canceled", err)
	}
	noChannel(t, err)
}

func TestLogsHideChannel(t *testing.T) {
	var logs bytes.Buffer
	srv, _ := server(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(500) })
	s := newSink(t, srv.URL, func(c *rechat.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	_ = s.Deliver(t.Context(), sinktest.Sample(1))
	d := sinktest.Sample(2)
	d.Lead.Action = lead.ActionDeleted
	_ = s.Deliver(t.Context(), d)
	if logs.Len() == 0 {
		t.Fatal("nothing logged")
	}
	for _, s := range []string{channel, "Åsa", "asa1@example.com", "070111222333"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log shows %q:\n%s", s, logs.String())
		}
	}
}

func TestConfigPrintsNoChannel(t *testing.T) {
	c := rechat.Config{Name: "rechat", APIURL: "https://api.rechat.com", Channel: channel}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("sink", "config", c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%v", &c), buf.String()} {
		if strings.Contains(out, channel) {
			t.Errorf("%q shows the channel", out)
		}
	}
}

func TestNewRejects(t *testing.T) {
	cases := map[string]struct {
		mod  func(*rechat.Config)
		want string
	}{
		"no channel":      {func(c *rechat.Config) { c.Channel = "" }, "channel: is required"},
		"path in channel": {func(c *rechat.Config) { c.Channel = channel + "/../x" }, "channel:"},
		"query channel":   {func(c *rechat.Config) { c.Channel = channel + "?a=b" }, "channel:"},
		"relative url":    {func(c *rechat.Config) { c.APIURL = "/api" }, "api_url:"},
		"ftp url":         {func(c *rechat.Config) { c.APIURL = "ftp://api.rechat.com" }, "api_url:"},
		"query url":       {func(c *rechat.Config) { c.APIURL = "https://api.rechat.com/?k=v" }, "api_url:"},
		"user info":       {func(c *rechat.Config) { c.APIURL = "https://u:p@api.rechat.com" }, "api_url:"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := rechat.Config{Name: "rechat", APIURL: "https://api.rechat.com", Channel: channel}
			c.mod(&cfg)
			_, err := rechat.New(cfg)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("New = %v, want %q…", err, c.want)
			}
			noChannel(t, err)
		})
	}
}

func TestDefaultAPIURL(t *testing.T) {
	s, err := rechat.New(rechat.Config{Channel: channel})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
}
