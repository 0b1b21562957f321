package hemnet

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/sync/lead"
)

// envelope is every Hemnet webhook body. Data stays raw until the type is
// known, so that an event type we do not map is kept as it came.
type envelope struct {
	Type   string          `json:"type"`
	Action string          `json:"action"`
	Data   json.RawMessage `json:"data"`
}

// contact is Hemnet's Contact object. Pointers tell null or absent from a
// value; ids are idString because Hemnet sends some as numbers.
type contact struct {
	ID                  idString      `json:"id"`
	RecipientType       *string       `json:"recipientType"`
	Email               *string       `json:"email"`
	Phone               *string       `json:"phone"`
	FirstName           *string       `json:"firstName"`
	LastName            *string       `json:"lastName"`
	Message             *string       `json:"message"`
	Listing             *listing      `json:"listing"`
	Broker              *broker       `json:"broker"`
	BrokerAgency        *brokerAgency `json:"brokerAgency"`
	ContactPreference   *string       `json:"contactPreference"`
	ContactReason       *string       `json:"contactReason"`
	StreetName          *string       `json:"streetName"`
	StreetNumber        *string       `json:"streetNumber"`
	PostalCity          *string       `json:"postalCity"`
	PreapprovedMortgage *bool         `json:"preapprovedMortgage"`
	Source              *string       `json:"source"`
}

type listing struct {
	ID         idString `json:"id"`
	ExternalID idString `json:"externalId"`
}

type broker struct {
	ID       idString `json:"id"`
	Email    *string  `json:"email"`
	FullName *string  `json:"fullName"`
}

type brokerAgency struct {
	ID         idString `json:"id"`
	ExternalID idString `json:"externalId"`
}

// idString is an id Hemnet sends as a JSON string or number. A number is
// kept as its literal text (json.Number), so that 12345678 stays "12345678"
// and a 20-digit id is not rounded. Null or absent is the empty string.
type idString string

// UnmarshalJSON implements json.Unmarshaler. encoding/json has already
// checked that b is one valid JSON value, so its first byte says which.
func (s *idString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
		return errors.New("id: empty")
	case b[0] == 'n': // null
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = idString(v)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*s = idString(b) // the number's literal text
	case b[0] == 't' || b[0] == 'f':
		return errors.New("id: want a string or a number, got a boolean")
	default:
		return errors.New("id: want a string or a number, got an object or array")
	}
	return nil
}

func (s idString) ptr() *string { return lead.Str(string(s)) }

// The one event this package maps.
const (
	typeContact  = "CONTACT"
	actionCreate = "CREATE"
)

// Parse maps the request's body. A CONTACT/CREATE gives one accepted event
// keyed by the contact id, so that Hemnet's retries of it are duplicates. Any
// other type/action gives one quarantined event keyed by the body's hash:
// Hemnet may add event types, and keeping them lets a later version replay
// them. A body that is not JSON, has no type or action, or a contact without
// an id is an error: intake then quarantines the whole request.
//
// Parse does no I/O and uses only r: its result for a stored request is the
// same on replay. r.ReceivedAt must be set.
func (s *Source) Parse(r *providers.Request) ([]lead.Event, error) {
	// The common case, a well-formed CONTACT/CREATE, in one pass over the
	// bytes (see fast.go); anything else takes the careful path below.
	if c, ok := decodeContactCreate(r.Body); ok {
		return s.contactEvent(r, c), nil
	}
	var env envelope
	if err := json.Unmarshal(r.Body, &env); err != nil {
		return nil, fmt.Errorf("decode body: %w", err)
	}
	if env.Type == "" || env.Action == "" {
		return nil, errors.New("decode body: no type or action: not a Hemnet webhook")
	}
	if env.Type != typeContact || env.Action != actionCreate {
		sum := sha256.Sum256(r.Body)
		ev := lead.Event{
			Key:    lead.Key(s.name, "raw", hex.EncodeToString(sum[:])),
			Status: lead.StatusQuarantined,
			Reason: fmt.Sprintf("unsupported event %s/%s", printable(env.Type), printable(env.Action)),
		}
		return []lead.Event{ev}, nil
	}
	if len(env.Data) == 0 {
		return nil, errors.New("decode data: no data")
	}
	var c contact
	if err := json.Unmarshal(env.Data, &c); err != nil {
		return nil, fmt.Errorf("decode data: %w", err)
	}
	if c.ID == "" {
		return nil, errors.New("decode data: contact has no id")
	}
	return s.contactEvent(r, &c), nil
}

// contactEvent is the one event of a CONTACT/CREATE, keyed by the contact id.
func (s *Source) contactEvent(r *providers.Request, c *contact) []lead.Event {
	key := lead.Key(s.name, "contact", string(c.ID))
	ev := lead.Event{
		Key:       key,
		EntityKey: key,
		Status:    lead.StatusAccepted,
		Lead:      s.mapContact(r, c),
	}
	ev.Finish()
	return []lead.Event{ev}
}

// mapContact builds the lead of a Contact; Parse fills in the ids.
func (s *Source) mapContact(r *providers.Request, c *contact) *lead.Lead {
	occurred := r.ReceivedAt
	if ts, ok := parseMillis(r.Header.Get(HeaderTimestamp)); ok {
		occurred = ts
	}
	return &lead.Lead{
		Action: lead.ActionCreated,
		// Hemnet's sandbox (testhemnet.se) sends from addresses of its
		// own: its leads are test data, for sinks that match on test.
		Test:       providers.InPreset("hemnet-sandbox", r.RemoteIP),
		OccurredAt: lead.Time{Time: occurred.UTC()},
		ReceivedAt: lead.Time{Time: r.ReceivedAt.UTC()},
		Source: lead.Source{
			Name:      s.name,
			Provider:  Provider,
			Entity:    "contact",
			EntityID:  string(c.ID),
			EventType: typeContact + "." + actionCreate,
			Via:       lead.ViaWebhook,
			// The header only: r.RequestID may be one we generated, and
			// the lead must not present it as Hemnet's.
			RequestID: lead.Str(strings.TrimSpace(r.Header.Get(HeaderRequestID))),
		},
		Person:     mapPerson(c),
		Interest:   mapInterest(c),
		Assignment: mapAssignment(c),
	}
}

func mapPerson(c *contact) lead.Person {
	return lead.Person{
		FirstName:        str(c.FirstName),
		LastName:         str(c.LastName),
		FullName:         joinNonEmpty(c.FirstName, c.LastName),
		Email:            str(c.Email),
		Phone:            str(c.Phone),
		Address:          mapAddress(c),
		PreferredContact: lower(c.ContactPreference),
		// Hemnet's contact form asks no marketing consent: unknown.
		MarketingConsent: nil,
	}
}

// mapAddress joins streetName and streetNumber ("Test street 12A", either
// alone when the other is missing). Hemnet sends no postal code or country;
// they stay null rather than being guessed as "SE".
func mapAddress(c *contact) *lead.Address {
	a := &lead.Address{
		Street: joinNonEmpty(c.StreetName, c.StreetNumber),
		City:   str(c.PostalCity),
	}
	if a.Street == nil && a.City == nil {
		return nil
	}
	return a
}

func mapInterest(c *contact) lead.Interest {
	in := lead.Interest{
		Intent:              intent(c.ContactReason, c.Source),
		Reason:              str(c.ContactReason),
		Message:             text(c.Message),
		PreapprovedMortgage: c.PreapprovedMortgage,
		Form:                str(c.Source),
	}
	if l := c.Listing; l != nil && (l.ID != "" || l.ExternalID != "") {
		in.Listing = &lead.Listing{ID: l.ID.ptr(), ExternalID: l.ExternalID.ptr()}
	}
	return in
}

// intent implements the rule in the package doc.
func intent(reason, source *string) string {
	switch deref(reason) {
	case "BUYING_ADVICE":
		return lead.IntentBuy
	case "SELLING_ADVICE":
		return lead.IntentSell
	}
	if strings.HasPrefix(deref(source), "LISTING_") {
		return lead.IntentBuy
	}
	return lead.IntentOther
}

// mapAssignment maps broker to the agent and brokerAgency to the agency. An
// object with nothing in it is null, like an absent one: an agent with no
// id, name or email cannot be assigned anything.
func mapAssignment(c *contact) lead.Assignment {
	as := lead.Assignment{RecipientType: str(c.RecipientType)}
	if b := c.Broker; b != nil {
		ag := &lead.Agent{ID: b.ID.ptr(), Name: str(b.FullName), Email: str(b.Email)}
		if ag.ID != nil || ag.Name != nil || ag.Email != nil {
			as.Agent = ag
		}
	}
	if b := c.BrokerAgency; b != nil && (b.ID != "" || b.ExternalID != "") {
		as.Agency = &lead.Agency{ID: b.ID.ptr(), ExternalID: b.ExternalID.ptr()}
	}
	return as
}

// printable shortens a sender-controlled value and replaces what a terminal
// or log line would misrender (control characters, invalid UTF-8) before it
// goes into a reason.
func printable(s string) string {
	s = truncate(s, 64)
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}

// str maps a one-line field (name, email, phone, enum): trimmed, because a
// stray space in a form field breaks matching in a CRM, and null when
// nothing is left, as for Hemnet's null.
func str(p *string) *string {
	if p == nil {
		return nil
	}
	t := strings.TrimSpace(*p)
	if len(t) == len(*p) && t != "" {
		return p // nothing to trim: the decoded field itself, no copy (as text does)
	}
	return lead.Str(t)
}

// text maps free text (the message) verbatim, since its line breaks and
// indentation are the person's; only a blank one becomes null.
func text(p *string) *string {
	if strings.TrimSpace(deref(p)) == "" {
		return nil
	}
	return p
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// lower maps an enum such as contactPreference EMAIL to the lead's
// lowercase vocabulary ("email"); a value Hemnet adds later is lowercased too.
func lower(p *string) *string { return lead.Str(strings.ToLower(deref(str(p)))) }

// joinNonEmpty joins the trimmed, non-empty parts a and b with a space, or
// returns null when there are none.
func joinNonEmpty(a, b *string) *string {
	x, y := strings.TrimSpace(deref(a)), strings.TrimSpace(deref(b))
	switch {
	case x == "":
		return lead.Str(y)
	case y == "":
		return lead.Str(x)
	}
	return lead.Str(x + " " + y)
}
