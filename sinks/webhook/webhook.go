// Package webhook is the "webhook" sink: it POSTs the lead JSON to a URL,
// signed as Standard Webhooks 1.0 specifies (https://www.standardwebhooks.com),
// so that any Standard Webhooks library verifies it.
//
// Every request carries webhook-id (the delivery id, the same on every
// attempt, for the receiver to de-duplicate), webhook-timestamp (Unix seconds
// of this attempt) and webhook-signature ("v1,<base64 HMAC-SHA256>" of
// "id.timestamp.body"). A short blip (connection refused, a 5xx, a 429 asking
// for at most a second) is retried in process, at most twice and re-signed
// each time; anything longer goes back to the dispatcher, which owns backoff
// and survives restarts.
//
// Sign and Verify are exported for receivers: tests, `leadsync send-test`,
// and users who want to check what leadsync sends.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/leadsync/leadsync/sinks"
)

// Defaults of Config.
const (
	DefaultTimeout      = 15 * time.Second
	DefaultMaxRetryWait = time.Hour
)

// Config configures a webhook sink. Secret and Headers hold credentials:
// Config's String and LogValue leave them out.
type Config struct {
	// Name is the sink's name in the config file, used in logs.
	Name string
	// URL receives the POSTs; an absolute http or https URL. Redirects are
	// not followed (the answer is a permanent failure): a redirected POST
	// loses its body or its signature.
	URL string
	// Secret is the signing secret, "whsec_" followed by base64.
	Secret string
	// Headers are sent with every request (Authorization, say). They may
	// replace user-agent but not content-type, host, content-length or the
	// webhook-* headers, which signing depends on.
	Headers map[string]string
	// Timeout bounds one Deliver call, in-process retries included; default
	// DefaultTimeout. A sooner deadline of Deliver's ctx wins.
	Timeout time.Duration
	// MaxRetryWait caps the wait a peer asks for with Retry-After; default
	// DefaultMaxRetryWait.
	MaxRetryWait time.Duration
	// Logger receives debug lines per attempt (never headers or bodies);
	// default slog.Default().
	Logger *slog.Logger
	// Client, if set, sends the requests (tests, custom TLS). Unless it has
	// its own CheckRedirect, a copy of it that does not follow redirects is
	// used.
	Client *http.Client
}

// String names the sink and its peer without credentials.
func (c Config) String() string {
	return fmt.Sprintf("webhook %q to %s", c.Name, safeURL(c.URL))
}

// LogValue implements slog.LogValuer without credentials.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("sink", c.Name), slog.String("url", safeURL(c.URL)))
}

// safeURL is what a webhook sink shows of its URL, in its log lines and
// its errors: scheme and host, not user info, query or fragment (as
// sinks.RedactURL), and not the path either, shown as "/…": a hook URL
// often is its own credential (Zapier's /hooks/catch/123/abc/, Slack's
// /services/T…/B…/x…). Scheme and host still say which peer; the sink's
// name says which endpoint.
func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(url)"
	}
	safe := (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
	if len(u.EscapedPath()) > 1 { // more than "/"
		safe += "/…"
	}
	return safe
}

// Sink is a webhook sink. It is safe for concurrent use.
type Sink struct {
	url       string
	key       []byte
	header    http.Header // sent with every request; webhook-* are added per attempt
	redact    []string    // credentials to scrub from a peer's answer
	shown     string      // the URL as errors show it (see safeURL)
	timeout   time.Duration
	maxWait   time.Duration
	log       *slog.Logger
	client    *http.Client
	ownClient bool
	now       func() time.Time // the clock webhook-timestamp is read from
}

var _ sinks.Sink = (*Sink)(nil)

// New checks c and returns a sink. Errors name the key at fault and never
// quote a credential.
func New(c Config) (*Sink, error) {
	key, err := decodeSecret(c.Secret)
	if err != nil {
		return nil, errors.New("secret: must be whsec_ followed by base64")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("url: must be an absolute http or https URL")
	}
	header, err := buildHeader(c.Headers)
	if err != nil {
		return nil, err
	}
	s := &Sink{
		url:     c.URL,
		shown:   safeURL(c.URL),
		key:     key,
		header:  header,
		redact:  credentials(c.Secret, u, c.Headers),
		timeout: sinks.OrDefault(c.Timeout, DefaultTimeout),
		maxWait: sinks.OrDefault(c.MaxRetryWait, DefaultMaxRetryWait),
		log:     c.Logger,
		now:     time.Now,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("sink", c.Name)
	s.client, s.ownClient = sinks.NewClient(c.Client)
	return s, nil
}

// Deliver POSTs d.Body, signed, and classifies the final answer with
// sinks.ClassifyHTTP: nil on 2xx, Permanent on 3xx and 4xx other than 408
// and 429, RetryAfter when the peer set Retry-After, else a retryable error.
// It returns within Config.Timeout and honours ctx; cancellation comes back
// as context.Canceled. A repeat of d carries the same webhook-id.
func (s *Sink) Deliver(ctx context.Context, d sinks.Delivery) error {
	if d.ID == "" {
		return sinks.Permanent(errors.New("delivery has no id"))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, s.url, d.Body)
	if err != nil {
		return sinks.Permanent(fmt.Errorf("build request: %w", sinks.ClassifyErr(sinks.HideURL(err, s.shown))))
	}
	req.Header = s.header.Clone()
	req.Header.Set(HeaderID, d.ID)
	resp, err := s.retrier(d).Do(req)
	if err != nil {
		if resp != nil {
			drainClose(resp.Body)
		}
		return sinks.ClassifyErr(sinks.HideURL(err, s.shown))
	}
	defer drainClose(resp.Body)
	return s.scrub(sinks.ClassifyHTTP(resp, s.maxWait))
}

// drainClose reads a little of body so the connection can be reused, and
// closes it.
func drainClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}

// Close drops idle connections. The sink must not be used afterwards.
func (s *Sink) Close() error {
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
	return nil
}

// BodyOnly implements sinks.BodyOnly: the lead JSON is sent as it is.
func (s *Sink) BodyOnly() {}
