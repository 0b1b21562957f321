// Package pipedrive is the "pipedrive" sink: it finds or creates the lead's
// person and adds a lead to Pipedrive's Leads Inbox for them, with the
// lead's message in a note. The API token goes in the x-api-token header.
//
// One delivery is, in order:
//
//  1. GET /api/v2/persons/search?term=<email>&fields=email&exact_match=true
//     (by phone when the lead has no email, or when an update's email finds
//     no one; with neither the lead goes to the dead letters, as there is
//     nothing to find the person by);
//  2. POST /api/v2/persons when no one matches; else, only when the person
//     lacks the lead's email or phone, GET and PATCH /api/v2/persons/{id}
//     adding it (names and existing values are never overwritten);
//  3. GET /v1/leads?person_id=… and /v1/leads/archived?person_id=…,
//     looking for the lead whose origin_id is the leadsync lead id, and
//     POST /v1/leads {title, person_id, origin_id, …} only when none has;
//  4. when the lead has a message, POST /v1/notes on that lead, unless a
//     note of this message is already there (GET /v1/notes?lead_id=…).
//
// # Idempotency
//
// Pipedrive has no upsert and no idempotency key, so every step looks
// before it writes: a repeat of a delivery after a crash (at any step), and
// every update of the same leadsync lead, find the person by email, the
// Pipedrive lead by origin_id (archived or not) and the note by a marker
// ("leadsync <lead id> #<hash of the message>") at its end, and create
// nothing twice. An update adds the person's new phone or email, and a
// note when the message changed; the Pipedrive lead's title and fields are
// left as they are, as agents work on them. Within one sink, deliveries of
// leads with the same email or phone take turns, so two leads of one person
// do not both create the person. What this cannot cover is a writer
// outside this sink (another leadsync, a user) creating the same person or
// lead at the same instant; and a lead converted to a deal is no longer
// listed, so a later update of it adds a new lead. A lead whose action is
// "deleted" changes nothing in Pipedrive.
//
// # Default mapping
//
//	person name   person.full_name, else first_name + last_name, else the email or phone
//	person email  person.email (label work)
//	person phone  person.phone (label mobile)
//	lead title    "<name>: <intent>, listing <listing id> (<source name>)", absent parts left out
//	origin_id     id (the leadsync lead id)
//	note          interest.message, then intent, listing, form and source
//
// Config.Properties adds lead fields (dotted paths of the lead JSON) to
// fields of the Pipedrive lead, by key: a standard one or a custom field's
// 40-character key (leads share the custom fields of deals). Config.Constants
// sets fixed ones.
//
// # Rate limits
//
// A 429 comes back as RetryAfter: Retry-After when sent, else
// x-ratelimit-reset seconds, else the start of the next UTC day when
// x-daily-requests-left is 0, else the 2-second window. A delivery costs 4
// to 8 requests, one of them a search (the search API has its own, lower
// limit).
package pipedrive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sync/lead"
)

// Defaults of Config.
const (
	DefaultAPIURL       = "https://api.pipedrive.com"
	DefaultTimeout      = 15 * time.Second
	DefaultMaxRetryWait = time.Hour
)

// Config configures a Pipedrive sink. Token is a credential: Config's
// String and LogValue leave it out.
type Config struct {
	// Name is the sink's name in the config file, used in logs.
	Name string
	// Token is the API token (Personal preferences → API). Required.
	Token string
	// APIURL is the API root; default DefaultAPIURL (a company domain,
	// https://<company>.pipedrive.com, works too).
	APIURL string
	// Properties maps lead fields (dotted paths of the lead JSON, e.g.
	// "interest.listing.id") to fields of the Pipedrive lead, by key; the
	// values are sent as text. There are no defaults to override; title,
	// person_id and origin_id are the sink's.
	Properties map[string]string
	// Constants are fields of the Pipedrive lead set on creation, by key:
	// owner_id, organization_id and channel as integers, label_ids as a
	// comma-separated list, was_seen as true or false, anything else
	// (visible_to, channel_id, custom fields) as text.
	Constants map[string]string
	// NoNote leaves the lead's message out of Pipedrive (no note).
	NoNote bool
	// Timeout bounds one Deliver call; default DefaultTimeout. A sooner
	// deadline of Deliver's ctx wins.
	Timeout time.Duration
	// MaxRetryWait caps the wait a 429 asks for; default DefaultMaxRetryWait.
	MaxRetryWait time.Duration
	// Logger receives debug lines per request (never the token or personal
	// data); default slog.Default().
	Logger *slog.Logger
	// Client, if set, sends the requests (tests, proxies). Unless it has its
	// own CheckRedirect, a copy that does not follow redirects is used.
	Client *http.Client
}

// String names the sink and its peer without credentials.
func (c Config) String() string {
	return fmt.Sprintf("pipedrive %q at %s", c.Name, sinks.RedactURL(c.apiURL()))
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

// Sink is a Pipedrive sink. It is safe for concurrent use.
type Sink struct {
	base      string // API root, no trailing slash
	token     string
	mapping   sinks.Mapping
	constants map[string]any
	noNote    bool
	locks     *keyedLocks
	timeout   time.Duration
	maxWait   time.Duration
	log       *slog.Logger
	client    *http.Client
	ownClient bool
}

var _ sinks.Sink = (*Sink)(nil)

// fieldKey is what a Pipedrive field key looks like.
var fieldKey = regexp.MustCompile(`^[A-Za-z0-9_]+$`).MatchString

// reserved are the lead fields the sink sets itself.
var reserved = map[string]bool{"title": true, "person_id": true, "origin_id": true}

// New checks c and returns a sink. Errors name the key at fault and never
// quote the token.
func New(c Config) (*Sink, error) {
	if c.Token == "" {
		return nil, errors.New("token: required (a Pipedrive API token)")
	}
	if strings.ContainsAny(c.Token, "\r\n\x00 ") {
		return nil, errors.New("token: has a space, line break or NUL")
	}
	base, err := sinks.APIBase(c.apiURL())
	if err != nil {
		return nil, fmt.Errorf("api_url: %w", err)
	}
	if err := checkReserved(c); err != nil {
		return nil, err
	}
	m, err := sinks.NewMapping(nil, c.Properties, c.Constants, fieldKey)
	if err != nil {
		return nil, err
	}
	consts, err := typedConstants(c.Constants)
	if err != nil {
		return nil, err
	}
	m = m.WithoutConstants() // sent typed, from consts
	s := &Sink{
		base: base, token: c.Token, mapping: m, constants: consts, noNote: c.NoNote,
		locks:   newKeyedLocks(),
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

// checkReserved refuses mappings to the fields the sink sets itself.
func checkReserved(c Config) error {
	for _, f := range slices.Sorted(maps.Keys(c.Properties)) {
		if reserved[c.Properties[f]] {
			return fmt.Errorf("properties: %s: %s is set by the sink", f, c.Properties[f])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Constants)) {
		if reserved[k] {
			return fmt.Errorf("constants: %s: set by the sink", k)
		}
	}
	return nil
}

// typedConstants gives the standard fields that are not text their JSON
// type.
func typedConstants(c map[string]string) (map[string]any, error) {
	out := make(map[string]any, len(c))
	for _, k := range slices.Sorted(maps.Keys(c)) {
		v := strings.TrimSpace(c[k])
		switch k {
		case "owner_id", "organization_id", "channel":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("constants: %s: %q is not an integer", k, v)
			}
			out[k] = n
		case "was_seen":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("constants: %s: %q is not true or false", k, v)
			}
			out[k] = b
		case "label_ids":
			ids := []string{}
			for id := range strings.SplitSeq(v, ",") {
				if id = strings.TrimSpace(id); id != "" {
					ids = append(ids, id)
				}
			}
			out[k] = ids
		default:
			out[k] = c[k]
		}
	}
	return out, nil
}

// Deliver finds or creates the person, the Pipedrive lead and its note, as
// the package documentation says. It returns nil once all three are there;
// Permanent for a lead with neither email nor phone and for answers
// retrying cannot change (400, 403, 404, 3xx); RetryAfter for 429; any
// other error (401, 402, 5xx, timeouts) to retry with backoff. A step that
// failed after earlier ones succeeded is safe to repeat. Cancellation comes
// back as context.Canceled.
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
		s.log.Debug("pipedrive: deleted lead left alone", "delivery_id", d.ID, "lead_id", f["id"])
		return nil
	}
	p := personOf(f)
	if p.email == "" && p.phone == "" {
		return sinks.Permanent(errors.New("lead has neither email nor phone: nothing to find the pipedrive person by"))
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	unlock, err := s.locks.lock(ctx, p.key())
	if err != nil {
		return err
	}
	defer unlock()
	personID, err := s.upsertPerson(ctx, p)
	if err != nil {
		return err
	}
	leadID, created, err := s.ensureLead(ctx, f, personID)
	if err != nil {
		return err
	}
	if err := s.ensureNote(ctx, f, leadID, created); err != nil {
		return err
	}
	s.log.Debug("pipedrive lead written", "delivery_id", d.ID, "lead_id", f["id"],
		"person_id", personID, "pipedrive_lead_id", leadID, "created", created)
	return nil
}

// Close drops idle connections. The sink must not be used afterwards.
func (s *Sink) Close() error {
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
	return nil
}
