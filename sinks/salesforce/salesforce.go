// Package salesforce is the "salesforce" sink: it upserts each lead as a
// Salesforce Lead keyed by an external id field, with the REST API
// (PATCH {instance_url}/services/data/v62.0/sobjects/Lead/{external_id_field}/{lead id})
// and an access token from the OAuth 2.0 client credentials flow
// (POST {instance_url}/services/oauth2/token with the connected app's
// client_id and client_secret).
//
// The org needs: a Lead field marked External ID and Unique (text, e.g.
// LeadSync_Id__c, given as external_id_field); a connected app (or external
// client app) with the client credentials flow enabled and a run-as user
// who may create and edit Leads and that field. instance_url is the org's
// My Domain URL.
//
// # Idempotency
//
// The Lead is keyed by the leadsync lead id in the external id field: a
// repeat of a delivery after a crash, and every later update of the lead,
// write the same Lead (201 created the first time, 200 updated after) and
// never create a second one. Only fields the lead has a value for are sent;
// the others keep what Salesforce holds. Several Leads with the same
// external id (the field not marked Unique) answer 300, which goes to the
// dead letters. A lead whose action is "deleted" changes nothing in
// Salesforce (the delivery succeeds without a request).
//
// # Default mapping
//
// Lead field (a dotted path of the lead JSON) → Lead field API name:
//
//	person.first_name          FirstName
//	person.last_name           LastName
//	person.email               Email
//	person.phone               Phone
//	person.address.street      Street
//	person.address.postal_code PostalCode
//	person.address.city        City
//	person.address.country     Country
//	interest.message           Description
//
// Salesforce requires LastName and Company of a new Lead: a lead without
// last name gets its full name, else Config.DefaultLastName ("Unknown");
// Company is Config.DefaultCompany ("(private)") unless mapped or constant.
// These two defaults are left out of updates (action "updated"), so that
// they do not overwrite what agents filled in, unless Salesforce answers
// REQUIRED_FIELD_MISSING (it has no such Lead yet): then the update is sent
// again with them. Values
// longer than a standard text field holds (FirstName 40, City 40,
// PostalCode 20…) are cut to fit rather than refused. Config.Properties
// changes or extends the mapping (custom fields end in __c), and
// Config.Constants sets fixed fields such as LeadSource; values are sent as
// JSON strings, which Salesforce converts to the field's type.
//
// # Errors and limits
//
// A 401 (session expired or revoked) fetches a new token once and repeats
// the request. Salesforce has no 429: its API request limit answers 403
// REQUEST_LIMIT_EXCEEDED, which waits Config.LimitWait (the dispatcher's
// backoff grows it). UNABLE_TO_LOCK_ROW retries. Other 4xx (a field that
// does not exist, a validation rule, a duplicate rule) are permanent, with
// Salesforce's [{"message","errorCode"}] kept in the dead letter. A refused
// token request or a 401 with a fresh token retries: the connected app is
// the operator's to fix, and the leads wait for it.
package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sync/lead"
)

// Defaults of Config.
const (
	DefaultAPIVersion   = "v62.0"
	DefaultLastName     = "Unknown"
	DefaultCompany      = "(private)"
	DefaultLimitWait    = time.Minute
	DefaultTimeout      = 15 * time.Second
	DefaultMaxRetryWait = time.Hour
)

// DefaultProperties is the default mapping, lead field → Lead field.
var DefaultProperties = map[string]string{
	"person.first_name":          "FirstName",
	"person.last_name":           "LastName",
	"person.email":               "Email",
	"person.phone":               "Phone",
	"person.address.street":      "Street",
	"person.address.postal_code": "PostalCode",
	"person.address.city":        "City",
	"person.address.country":     "Country",
	"interest.message":           "Description",
}

// Config configures a Salesforce sink. ClientID and ClientSecret are
// credentials: Config's String and LogValue leave them out.
type Config struct {
	// Name is the sink's name in the config file, used in logs.
	Name string
	// InstanceURL is the org's My Domain URL,
	// https://<domain>.my.salesforce.com. Required.
	InstanceURL string
	// ClientID and ClientSecret are the connected app's consumer key and
	// secret. Required.
	ClientID     string
	ClientSecret string
	// ExternalIDField is the API name of the Lead field, marked External ID
	// and Unique, that holds the leadsync lead id. Required.
	ExternalIDField string
	// APIVersion is the REST API version; default DefaultAPIVersion.
	APIVersion string
	// Properties overrides DefaultProperties: lead field (a dotted path of
	// the lead JSON) → Lead field API name; "" drops a default. Two fields
	// may not share a Lead field.
	Properties map[string]string
	// Constants are Lead fields set to a fixed value on every write (API
	// name → value), say LeadSource; none may also be mapped.
	Constants map[string]string
	// DefaultLastName is LastName when the lead has neither last nor full
	// name; default DefaultLastName.
	DefaultLastName string
	// DefaultCompany is Company when nothing maps to it; default
	// DefaultCompany.
	DefaultCompany string
	// LimitWait is how long to stay away after REQUEST_LIMIT_EXCEEDED;
	// default DefaultLimitWait.
	LimitWait time.Duration
	// Timeout bounds one Deliver call, token fetch included; default
	// DefaultTimeout. A sooner deadline of Deliver's ctx wins.
	Timeout time.Duration
	// MaxRetryWait caps the waits the sink asks for; default
	// DefaultMaxRetryWait.
	MaxRetryWait time.Duration
	// Logger receives debug lines per request (never credentials, tokens or
	// personal data); default slog.Default().
	Logger *slog.Logger
	// Client, if set, sends the requests (tests, proxies). Unless it has its
	// own CheckRedirect, a copy that does not follow redirects is used.
	Client *http.Client
}

// String names the sink and its peer without credentials.
func (c Config) String() string {
	return fmt.Sprintf("salesforce %q at %s", c.Name, sinks.RedactURL(c.InstanceURL))
}

// LogValue implements slog.LogValuer without credentials.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("sink", c.Name), slog.String("instance_url", sinks.RedactURL(c.InstanceURL)))
}

// Sink is a Salesforce sink. It is safe for concurrent use.
type Sink struct {
	base         string // instance URL, no trailing slash
	sobject      string // URL of the Lead upsert endpoint, up to the external id value
	externalID   string
	clientID     string
	clientSecret string
	mapping      sinks.Mapping
	lastName     string
	company      string
	limitWait    time.Duration
	timeout      time.Duration
	maxWait      time.Duration
	log          *slog.Logger
	client       *http.Client
	ownClient    bool

	tokenLock   chan struct{} // held while the token is read or fetched
	accessToken string        // guarded by tokenLock
}

var _ sinks.Sink = (*Sink)(nil)

var (
	// apiName is what a field's API name looks like (custom ones end in __c).
	apiName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`).MatchString
	// apiVersion is what a REST API version looks like.
	apiVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]$`).MatchString
)

// New checks c and returns a sink. Errors name the key at fault and never
// quote a credential.
func New(c Config) (*Sink, error) {
	base, err := sinks.APIBase(c.InstanceURL)
	if err != nil {
		return nil, errors.New("instance_url: must be an https URL (the org's My Domain), without query or user info")
	}
	if err := checkCredentials(c); err != nil {
		return nil, err
	}
	switch {
	case c.ExternalIDField == "":
		return nil, errors.New("external_id_field: required, the API name of a Lead field marked External ID (e.g. LeadSync_Id__c)")
	case !apiName(c.ExternalIDField):
		return nil, fmt.Errorf("external_id_field: %q is not a Salesforce API name (letters, digits and underscores, starting with a letter, e.g. LeadSync_Id__c)", c.ExternalIDField)
	}
	version := orString(c.APIVersion, DefaultAPIVersion)
	if !apiVersion(version) {
		return nil, fmt.Errorf("api_version: %q is not like v62.0", version)
	}
	m, err := sinks.NewMapping(DefaultProperties, c.Properties, c.Constants, apiName)
	if err != nil {
		return nil, err
	}
	if err := checkExternalID(c.ExternalIDField, m); err != nil {
		return nil, err
	}
	s := &Sink{
		base:         base,
		sobject:      base + "/services/data/" + version + "/sobjects/Lead/" + c.ExternalIDField + "/",
		externalID:   c.ExternalIDField,
		clientID:     c.ClientID,
		clientSecret: c.ClientSecret,
		mapping:      m,
		lastName:     orString(c.DefaultLastName, DefaultLastName),
		company:      orString(c.DefaultCompany, DefaultCompany),
		limitWait:    sinks.OrDefault(c.LimitWait, DefaultLimitWait),
		timeout:      sinks.OrDefault(c.Timeout, DefaultTimeout),
		maxWait:      sinks.OrDefault(c.MaxRetryWait, DefaultMaxRetryWait),
		log:          c.Logger,
		tokenLock:    make(chan struct{}, 1),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("sink", c.Name)
	s.client, s.ownClient = sinks.NewClient(c.Client)
	return s, nil
}

func checkCredentials(c Config) error {
	for _, v := range []struct{ key, value string }{{"client_id", c.ClientID}, {"client_secret", c.ClientSecret}} {
		if v.value == "" {
			return fmt.Errorf("%s: required (the connected app's)", v.key)
		}
		if strings.ContainsAny(v.value, "\r\n\x00") {
			return fmt.Errorf("%s: has a line break or NUL", v.key)
		}
	}
	return nil
}

// checkExternalID refuses a mapping that would write the key field itself.
func checkExternalID(field string, m sinks.Mapping) error {
	for f, p := range m.Properties() {
		if strings.EqualFold(p, field) {
			return fmt.Errorf("properties: %s: %s is the external_id_field, which holds the lead id", f, p)
		}
	}
	for p := range m.Constants() {
		if strings.EqualFold(p, field) {
			return fmt.Errorf("constants: %s: is the external_id_field, which holds the lead id", p)
		}
	}
	return nil
}

func orString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Deliver upserts d's lead as a Salesforce Lead keyed by its id. It returns
// nil once Salesforce has it (201, 200 or 204); Permanent for answers
// retrying cannot change (300, 400, 403 other than the request limit, 404);
// RetryAfter for REQUEST_LIMIT_EXCEEDED; any other error (token refused,
// 5xx, timeouts) to retry with backoff. Cancellation comes back as
// context.Canceled.
func (s *Sink) Deliver(ctx context.Context, d sinks.Delivery) error {
	if d.ID == "" {
		return sinks.Permanent(errors.New("delivery has no id"))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := sinks.LeadFields(d)
	if err != nil {
		return sinks.Permanent(err)
	}
	if f["action"] == lead.ActionDeleted {
		s.log.Debug("salesforce: deleted lead left alone", "delivery_id", d.ID, "lead_id", f["id"])
		return nil
	}
	if f["id"] == "" {
		return sinks.Permanent(errors.New("lead has no id"))
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// The defaults for LastName and Company are for a new Lead: an update
	// would overwrite what agents filled in. An update whose Lead turns out
	// not to exist (REQUIRED_FIELD_MISSING) is sent again with them.
	withDefaults := f["action"] != lead.ActionUpdated
	a, err := s.upsert(ctx, f["id"], s.record(f, withDefaults))
	if err == nil && !withDefaults && a.Status == http.StatusBadRequest &&
		slices.Contains(errorCodes(a), "REQUIRED_FIELD_MISSING") {
		a, err = s.upsert(ctx, f["id"], s.record(f, true))
	}
	if err != nil {
		return fmt.Errorf("upsert lead: %w", err)
	}
	if err := s.classifyUpsert(a, f["id"]); err != nil {
		return fmt.Errorf("upsert lead: %w", err)
	}
	s.log.Debug("salesforce lead written", "delivery_id", d.ID, "lead_id", f["id"], "created", a.Status == http.StatusCreated)
	return nil
}

// upsert PATCHes the Lead and returns the answer, fetching a new token and
// repeating once if the org refuses the one held.
func (s *Sink) upsert(ctx context.Context, leadID string, record map[string]string) (*sinks.APIAnswer, error) {
	body, err := json.Marshal(record)
	if err != nil {
		return nil, sinks.Permanent(fmt.Errorf("encode: %w", err))
	}
	stale := ""
	for try := 0; ; try++ {
		tok, err := s.token(ctx, stale)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPatch, s.sobject+url.PathEscape(leadID), bytes.NewReader(body))
		if err != nil {
			return nil, sinks.Permanent(fmt.Errorf("build request: %w", err))
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		// A person's second inquiry is a new Lead with a known email. An
		// org's duplicate rule whose action is Allow (Salesforce's standard
		// Lead rule: allow, with an alert) refuses it over the API unless
		// asked to save it; a rule that blocks still does.
		req.Header.Set("Sforce-Duplicate-Rule-Header", "allowSave=true")
		a, err := s.do(req, tok)
		if err != nil {
			return nil, err
		}
		if a.Status != http.StatusUnauthorized || try > 0 {
			return a, nil
		}
		stale = tok
	}
}

// record is the Lead's fields for a lead: the mapping's, LastName from the
// full name when the lead has no last name, the defaults for LastName and
// Company if asked for, text cut to what standard fields hold.
func (s *Sink) record(f map[string]string, withDefaults bool) map[string]string {
	r := s.mapping.Apply(f)
	if r["LastName"] == "" {
		if full := strings.TrimSpace(f["person.full_name"]); full != "" {
			r["LastName"] = full
		} else if withDefaults {
			r["LastName"] = s.lastName
		}
	}
	if r["Company"] == "" && withDefaults {
		r["Company"] = s.company
	}
	for k, v := range r {
		if n, ok := maxLength[k]; ok {
			r[k] = cut(v, n)
		}
	}
	return r
}

// maxLength is the length of the standard Lead text fields leadsync may
// fill. Email and Phone are not cut: a cut one would be wrong, not short.
var maxLength = map[string]int{
	"FirstName": 40, "MiddleName": 40, "LastName": 80, "Suffix": 40, "Title": 128, "Company": 255,
	"Street": 255, "City": 40, "State": 80, "PostalCode": 20, "Country": 80, "Description": 32000,
}

// cut returns s cut to at most n characters.
func cut(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// Close drops idle connections. The sink must not be used afterwards.
func (s *Sink) Close() error {
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
	return nil
}
