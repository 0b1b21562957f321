// Package hubspot is the "hubspot" sink: it upserts each lead as a HubSpot
// contact keyed by email, with the CRM v3 batch upsert endpoint
// (POST {api_url}/crm/v3/objects/contacts/batch/upsert, one input per
// request) authenticated by a private app's access token
// ("Authorization: Bearer <token>", scope crm.objects.contacts.write).
//
// # Idempotency
//
// The contact is keyed by the lead's email (idProperty "email"): a repeat of
// a delivery after a crash, and every later update of the lead, write the
// same contact and never create a second one. Each write carries the
// delivery id as objectWriteTraceId. Leads from different sources with the
// same email update the same contact, as HubSpot keeps one contact per
// email. Only properties the lead has a value for are sent; the others keep
// what HubSpot holds. A lead without email cannot be keyed: it goes to the
// dead letters with that reason. A lead whose action is "deleted" changes
// nothing in HubSpot (the delivery succeeds without a request): contacts
// are the agency's records, not leadsync's.
//
// # Default mapping
//
// Lead field (a dotted path of the lead JSON) → contact property:
//
//	person.email               email
//	person.first_name          firstname
//	person.last_name           lastname
//	person.phone               phone
//	person.address.street      address
//	person.address.city        city
//	person.address.postal_code zip
//	person.address.country     country
//	interest.message           message
//	id                         leadsync_lead_id
//
// leadsync_lead_id is not a HubSpot property: create it (Settings →
// Properties, contact, single-line text, internal name leadsync_lead_id) or
// map it away with Properties {"id": ""}; HubSpot refuses a write naming a
// property it does not have, and such leads go to the dead letters.
// Config.Properties changes or extends the mapping, Config.Constants adds
// fixed properties (say hs_lead_status or a custom lead source).
//
// # Rate limits
//
// A private app may send 190 requests per rolling 10 seconds (more on
// higher tiers); the sink keeps under Config.RateLimit per Config.RateWindow
// itself, counting each request until its answer so that no latency can
// crowd two into one of HubSpot's windows, waiting in process while ctx
// allows and handing longer waits to the dispatcher. A 429 comes back as RetryAfter: Retry-After if HubSpot
// sent one, else the window from X-HubSpot-RateLimit-Interval-Milliseconds
// (1s when only the secondly limit is exhausted), an hour for the daily
// limit. The limiter counts this sink's requests only: other apps of the
// same account share HubSpot's limit, and their excess shows as 429s.
package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sync/lead"
)

// Defaults of Config.
const (
	DefaultAPIURL       = "https://api.hubapi.com"
	DefaultTimeout      = 15 * time.Second
	DefaultMaxRetryWait = time.Hour
)

// upsertPath is the batch upsert endpoint of contacts, below APIURL.
const upsertPath = "/crm/v3/objects/contacts/batch/upsert"

// DefaultProperties is the default mapping, lead field → contact property.
var DefaultProperties = map[string]string{
	"person.email":               "email",
	"person.first_name":          "firstname",
	"person.last_name":           "lastname",
	"person.phone":               "phone",
	"person.address.street":      "address",
	"person.address.city":        "city",
	"person.address.postal_code": "zip",
	"person.address.country":     "country",
	"interest.message":           "message",
	"id":                         "leadsync_lead_id",
}

// Config configures a HubSpot sink. Token is a credential: Config's String
// and LogValue leave it out.
type Config struct {
	// Name is the sink's name in the config file, used in logs.
	Name string
	// Token is the private app's access token ("pat-…"). Required.
	Token string
	// APIURL is HubSpot's API root; default DefaultAPIURL.
	APIURL string
	// Properties overrides DefaultProperties: lead field (a dotted path of
	// the lead JSON, e.g. "interest.listing.id") → contact property
	// internal name; "" drops a default. Two fields may not share a
	// property.
	Properties map[string]string
	// Constants are contact properties set to a fixed value on every
	// write (property internal name → value); none may also be mapped.
	Constants map[string]string
	// RateLimit requests at most start per RateWindow; default
	// DefaultRateLimit per DefaultRateWindow.
	RateLimit  int
	RateWindow time.Duration
	// Timeout bounds one Deliver call, a wait for the rate limit included;
	// default DefaultTimeout. A sooner deadline of Deliver's ctx wins.
	Timeout time.Duration
	// MaxRetryWait caps the wait a 429 asks for; default DefaultMaxRetryWait.
	MaxRetryWait time.Duration
	// Logger receives debug lines per request (never tokens or personal
	// data); default slog.Default().
	Logger *slog.Logger
	// Client, if set, sends the requests (tests, proxies). Unless it has its
	// own CheckRedirect, a copy that does not follow redirects is used.
	Client *http.Client
}

// String names the sink and its peer without credentials.
func (c Config) String() string {
	return fmt.Sprintf("hubspot %q at %s", c.Name, sinks.RedactURL(c.apiURL()))
}

// LogValue implements slog.LogValuer without credentials.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("sink", c.Name), slog.String("api_url", sinks.RedactURL(c.apiURL())))
}

func (c Config) apiURL() string {
	if c.APIURL == "" {
		return DefaultAPIURL
	}
	return c.APIURL
}

// Sink is a HubSpot sink. It is safe for concurrent use.
type Sink struct {
	url       string // of the upsert endpoint
	token     string
	mapping   sinks.Mapping
	limit     *window
	timeout   time.Duration
	maxWait   time.Duration
	log       *slog.Logger
	client    *http.Client
	ownClient bool
}

var _ sinks.Sink = (*Sink)(nil)

// propertyName is HubSpot's rule for internal names.
var propertyName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`).MatchString

// New checks c and returns a sink. Errors name the key at fault and never
// quote the token.
func New(c Config) (*Sink, error) {
	if c.Token == "" {
		return nil, errors.New("token: required (a private app access token)")
	}
	if strings.ContainsAny(c.Token, "\r\n\x00 ") {
		return nil, errors.New("token: has a space, line break or NUL")
	}
	base, err := sinks.APIBase(c.apiURL())
	if err != nil {
		return nil, fmt.Errorf("api_url: %w", err)
	}
	m, err := sinks.NewMapping(DefaultProperties, c.Properties, c.Constants, propertyName)
	if err != nil {
		return nil, err
	}
	s := &Sink{
		url:     base + upsertPath,
		token:   c.Token,
		mapping: m,
		limit:   newWindow(sinks.OrDefault(c.RateLimit, DefaultRateLimit), sinks.OrDefault(c.RateWindow, DefaultRateWindow)),
		timeout: sinks.OrDefault(c.Timeout, DefaultTimeout),
		maxWait: sinks.OrDefault(c.MaxRetryWait, DefaultMaxRetryWait),
		log:     c.Logger,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("sink", c.Name)
	s.client, s.ownClient = sinks.NewClient(c.Client)
	return s, nil
}

// Deliver upserts d's lead as a contact. It returns nil once HubSpot has
// written it; Permanent for a lead without email and for answers retrying
// cannot change (400 invalid property or email, 403 missing scope, 3xx);
// RetryAfter for 429 and for a client-side limit wait beyond ctx's
// deadline; any other error (401, 5xx, timeouts) to retry with backoff. A
// 401 is retried, not dead-lettered: a revoked token is the operator's to
// fix, and the leads wait for it. Cancellation comes back as
// context.Canceled.
func (s *Sink) Deliver(ctx context.Context, d sinks.Delivery) error {
	if d.ID == "" {
		return sinks.Permanent(errors.New("delivery has no id"))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fields, err := sinks.LeadFields(d)
	if err != nil {
		return sinks.Permanent(err)
	}
	if fields["action"] == lead.ActionDeleted {
		s.log.Debug("hubspot: deleted lead left alone", "delivery_id", d.ID, "lead_id", fields["id"])
		return nil
	}
	email := strings.TrimSpace(fields["person.email"])
	if email == "" {
		return sinks.Permanent(errors.New("lead has no email: hubspot contacts are upserted by email (route leads without email elsewhere with match)"))
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.upsert(ctx, d.ID, email, s.mapping.Apply(fields))
}

// upsertInput is one input of a batch upsert.
type upsertInput struct {
	ID                 string            `json:"id"`
	IDProperty         string            `json:"idProperty"`
	Properties         map[string]string `json:"properties"`
	ObjectWriteTraceID string            `json:"objectWriteTraceId"`
}

// upsert sends one batch upsert and checks its answer.
func (s *Sink) upsert(ctx context.Context, id, email string, props map[string]string) error {
	body, err := json.Marshal(map[string][]upsertInput{"inputs": {{
		ID: email, IDProperty: "email", Properties: props, ObjectWriteTraceID: id,
	}}})
	if err != nil {
		return sinks.Permanent(fmt.Errorf("encode contact: %w", err))
	}
	release, err := s.limit.wait(ctx)
	if err != nil {
		return err
	}
	defer release()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return sinks.Permanent(fmt.Errorf("build request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	a, err := s.do(req)
	if err != nil {
		return fmt.Errorf("upsert contact: %w", err)
	}
	if err := s.classify(a); err != nil {
		return fmt.Errorf("upsert contact: %w", err)
	}
	return s.checkResult(id, a)
}

// classify is sinks.ClassifyHTTP with HubSpot's rules on top: a 429 without
// Retry-After waits as its headers say; a 401 is retried.
func (s *Sink) classify(a *sinks.APIAnswer) error {
	err := a.Classify(s.maxWait)
	if err == nil {
		return nil
	}
	var he *sinks.HTTPError
	errors.As(err, &he)
	switch {
	case a.Status == http.StatusTooManyRequests:
		if _, ok := sinks.RetryDelay(err); !ok {
			return rateLimited(err, a, s.maxWait)
		}
	case a.Status == http.StatusUnauthorized:
		return fmt.Errorf("token refused (check the private app's token; deliveries are retried): %w", he)
	}
	return err
}

// batchResult is what a batch upsert answers: 200 with results, or 207
// (Multi-Status) with errors for the inputs it refused.
type batchResult struct {
	Results []struct {
		ID  string `json:"id"`
		New bool   `json:"new"`
	} `json:"results"`
	Errors []struct {
		Category string `json:"category"`
		Message  string `json:"message"`
	} `json:"errors"`
}

// checkResult reads a 2xx answer: the contact written, or HubSpot's reason
// for refusing our single input.
func (s *Sink) checkResult(id string, a *sinks.APIAnswer) error {
	var r batchResult
	if err := json.Unmarshal(a.Body, &r); err != nil {
		return fmt.Errorf("upsert contact: unreadable answer: %w", &sinks.HTTPError{Status: a.Status, Body: sinks.Snippet(string(a.Body))})
	}
	if len(r.Errors) > 0 {
		e := r.Errors[0]
		err := fmt.Errorf("upsert contact refused: %w", &sinks.HTTPError{Status: a.Status, Body: sinks.Snippet(e.Category + ": " + e.Message)})
		if retryableCategory(e.Category) {
			return err
		}
		return sinks.Permanent(err)
	}
	if len(r.Results) == 0 {
		return fmt.Errorf("upsert contact: answer without result: %w", &sinks.HTTPError{Status: a.Status, Body: sinks.Snippet(string(a.Body))})
	}
	s.log.Debug("hubspot contact written", "delivery_id", id, "contact_id", r.Results[0].ID, "new", r.Results[0].New)
	return nil
}

// retryableCategory reports whether a per-input error category of a batch
// answer is one that may pass on a retry; the others (VALIDATION_ERROR,
// INVALID_EMAIL, CONFLICT…) concern the lead and will not.
func retryableCategory(c string) bool {
	c = strings.ToUpper(c)
	for _, s := range []string{"RATE_LIMIT", "INTERNAL", "UNAVAILABLE", "TIMEOUT"} {
		if strings.Contains(c, s) {
			return true
		}
	}
	return false
}

// Close drops idle connections. The sink must not be used afterwards.
func (s *Sink) Close() error {
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
	return nil
}
