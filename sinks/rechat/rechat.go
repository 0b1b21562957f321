// Package rechat is the "rechat" sink: it hands each lead to a Rechat lead
// channel through Rechat's Lead Capture API,
//
//	POST {api_url}/leads/channels/{channel}/webhook
//
// with a JSON body of first_name, last_name, email, phone_number, note,
// address, lead_source, source_type and tags (see Payload).
//
// # The channel is the credential
//
// The lead channel id both names the endpoint and authenticates it: whoever
// holds it can post leads into the agency's Rechat. It never appears in an
// error or a log line: a URL in an error has it replaced by "***", and a
// Rechat answer that echoes it is scrubbed.
//
// # Idempotency
//
// The Lead Capture API has neither an idempotency key nor an upsert key:
// every lead it accepts is a new capture (what Rechat then merges into an
// existing contact is up to its lead routing). So this sink delivers at
// least once: if leadsync crashes, or times out, after Rechat accepted a
// lead but before the outbox recorded it, the retry posts it again. To make
// such a repeat recognisable, every attempt of a delivery carries the
// delivery id, the same on every attempt, as Idempotency-Key and
// X-Request-Id headers (for Rechat to honour should it ever support them,
// and for its support to trace) and on the last line of the note
// ("leadsync delivery msg_…"), where an agent or a script can spot the
// duplicate. The sink never retries in process: repeats happen only where
// the dispatcher retries.
//
// Deleted leads are not posted, since lead capture cannot delete; Deliver
// logs and returns nil for them.
//
// # Failures
//
// Answers are classified by sinks.ClassifyHTTP: 2xx done; 408, 429 and 5xx
// retryable, honouring Retry-After; other 4xx and redirects permanent (a
// 404 is usually a wrong or deleted channel).
package rechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sync/lead"
)

// Defaults of Config.
const (
	DefaultAPIURL       = "https://api.rechat.com"
	DefaultTimeout      = 15 * time.Second
	DefaultMaxRetryWait = time.Hour
	DefaultSourceType   = "Website"
	DefaultLeadSource   = "leadsync"
)

// Config configures a Rechat sink. Channel is a credential: Config's String
// and LogValue leave it out.
type Config struct {
	// Name is the sink's name in the config file, used in logs.
	Name string
	// APIURL is Rechat's API base, default DefaultAPIURL; an absolute http
	// or https URL without query.
	APIURL string
	// Channel is the lead channel id from Rechat's Lead Routing (a UUID).
	Channel string
	// Timeout bounds one Deliver; default DefaultTimeout. A sooner deadline
	// of Deliver's ctx wins.
	Timeout time.Duration
	// Client, if set, sends the requests (tests, proxies). Unless it has
	// its own CheckRedirect, a copy of it that does not follow redirects is
	// used: the channel is in the path.
	Client *http.Client
	// LeadSource is lead_source; default the lead's provider ("hemnet"),
	// else DefaultLeadSource.
	LeadSource string
	// SourceType is source_type, which Rechat requires; default
	// DefaultSourceType.
	SourceType string
	// Tags are sent with every lead; a test lead gets "test" as well.
	Tags []string
	// MaxRetryWait caps the wait Rechat asks for with Retry-After; default
	// DefaultMaxRetryWait.
	MaxRetryWait time.Duration
	// Logger receives a line per deleted lead skipped and a debug line per
	// delivery (never the channel or lead data); default slog.Default().
	Logger *slog.Logger
}

// String names the sink and its API without the channel.
func (c Config) String() string {
	return fmt.Sprintf("rechat %q to %s", c.Name, sinks.RedactURL(or(c.APIURL, DefaultAPIURL)))
}

// LogValue implements slog.LogValuer without the channel.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("sink", c.Name), slog.String("api_url", sinks.RedactURL(or(c.APIURL, DefaultAPIURL))))
}

// Sink is a Rechat sink. It is safe for concurrent use.
type Sink struct {
	url        string   // the endpoint, channel included
	safeURL    string   // the endpoint as errors show it
	channel    []string // the channel as it may appear in text
	leadSource string
	sourceType string
	tags       []string
	timeout    time.Duration
	maxWait    time.Duration
	client     *http.Client
	ownClient  bool
	log        *slog.Logger
}

var _ sinks.Sink = (*Sink)(nil)

// New checks c and returns a sink. Errors name the key at fault and never
// quote the channel.
func New(c Config) (*Sink, error) {
	endpoint, safe, err := endpoint(or(c.APIURL, DefaultAPIURL), c.Channel)
	if err != nil {
		return nil, err
	}
	s := &Sink{
		url: endpoint, safeURL: safe, channel: channelForms(c.Channel),
		leadSource: c.LeadSource, sourceType: or(c.SourceType, DefaultSourceType), tags: c.Tags,
		timeout: sinks.OrDefault(c.Timeout, DefaultTimeout), maxWait: sinks.OrDefault(c.MaxRetryWait, DefaultMaxRetryWait),
		log: c.Logger,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("sink", c.Name)
	s.client, s.ownClient = sinks.NewClient(c.Client)
	return s, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Deliver posts d's lead to the channel, once, and classifies the answer
// with sinks.ClassifyHTTP. It returns within Config.Timeout and honours
// ctx; cancellation comes back as context.Canceled. Deleted leads are
// skipped (nil).
func (s *Sink) Deliver(ctx context.Context, d sinks.Delivery) error {
	l, err := leadOf(d)
	if err != nil {
		return sinks.Permanent(err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.Action == lead.ActionDeleted {
		s.log.Info("deleted lead not sent: rechat lead capture cannot delete", "delivery_id", d.ID, "lead_id", l.ID)
		return nil
	}
	body, err := json.Marshal(s.payload(d.ID, l))
	if err != nil {
		return sinks.Permanent(fmt.Errorf("encode: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return sinks.Permanent(errors.New("build request: invalid endpoint " + s.safeURL))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", sinks.UserAgent())
	req.Header.Set("Idempotency-Key", d.ID)
	req.Header.Set("X-Request-Id", d.ID)
	resp, err := s.client.Do(req)
	if err != nil {
		return sinks.ClassifyErr(sinks.HideURL(err, s.safeURL))
	}
	defer drainClose(resp.Body)
	err = s.scrub(sinks.ClassifyHTTP(resp, s.maxWait))
	s.log.Debug("rechat answer", "delivery_id", d.ID, "attempt", d.Attempt, "status", resp.StatusCode)
	return err
}

// Preview returns the JSON body Deliver would post for d, without posting
// it (nil for a deleted lead): a dry run for operators.
func (s *Sink) Preview(d sinks.Delivery) ([]byte, error) {
	l, err := leadOf(d)
	if err != nil || l.Action == lead.ActionDeleted {
		return nil, err
	}
	return json.MarshalIndent(s.payload(d.ID, l), "", "  ")
}

// leadOf returns the delivery's lead, decoding Body if the dispatcher did
// not.
func leadOf(d sinks.Delivery) (*lead.Lead, error) {
	if d.ID == "" {
		return nil, errors.New("delivery has no id")
	}
	if d.Lead != nil {
		return d.Lead, nil
	}
	var l lead.Lead
	if err := json.Unmarshal(d.Body, &l); err != nil {
		return nil, fmt.Errorf("lead: %w", err)
	}
	return &l, nil
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
