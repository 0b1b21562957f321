// Package lead is the shared vocabulary of leadsync: the normalized Lead every
// sink is given, the Event a provider turns a webhook into, and the keys that
// make intake idempotent.
//
// It imports only the standard library, so that providers, sinks and state can
// all depend on it without depending on each other.
package lead

import (
	"encoding/json"
	"time"

	"github.com/leadsync/leadsync/sync/lead/jsonw"
)

// Schema is the value of Lead.Schema for this version of the lead JSON.
const Schema = "leadsync.lead/v1"

// Actions a lead can carry.
const (
	ActionCreated = "created"
	ActionUpdated = "updated"
	ActionDeleted = "deleted"
)

// Intents a lead's interest can carry.
const (
	IntentBuy       = "buy"
	IntentSell      = "sell"
	IntentRent      = "rent"
	IntentLet       = "let"
	IntentValuation = "valuation"
	IntentOther     = "other"
)

// Via values for Source.Via.
const (
	ViaWebhook   = "webhook"
	ViaReconcile = "reconcile"
	ViaReplay    = "replay"
)

// Lead is the normalized lead, as documented in SPEC.md. Absent values are
// null (nil pointers) or empty arrays, never invented. It marshals to the
// schema in sync/lead/lead.schema.json.
type Lead struct {
	Schema     string     `json:"schema"`
	ID         string     `json:"id"`
	EventID    string     `json:"event_id"`
	Action     string     `json:"action"`
	Test       bool       `json:"test"`
	OccurredAt Time       `json:"occurred_at"`
	ReceivedAt Time       `json:"received_at"`
	Source     Source     `json:"source"`
	Person     Person     `json:"person"`
	Interest   Interest   `json:"interest"`
	Assignment Assignment `json:"assignment"`
}

// Source says where a lead came from.
type Source struct {
	Name       string  `json:"name"`
	Provider   string  `json:"provider"`
	Entity     string  `json:"entity"`
	EntityID   string  `json:"entity_id"`
	CustomerID *string `json:"customer_id"`
	EventType  string  `json:"event_type"`
	Via        string  `json:"via"`
	RequestID  *string `json:"request_id"`
}

// Person is who asked to be contacted.
type Person struct {
	FirstName        *string  `json:"first_name"`
	LastName         *string  `json:"last_name"`
	FullName         *string  `json:"full_name"`
	Email            *string  `json:"email"`
	Phone            *string  `json:"phone"`
	Address          *Address `json:"address"`
	PreferredContact *string  `json:"preferred_contact"`
	MarketingConsent *bool    `json:"marketing_consent"`
}

// Address is a postal address; nil in Person when the provider sent none.
type Address struct {
	Street     *string `json:"street"`
	PostalCode *string `json:"postal_code"`
	City       *string `json:"city"`
	Country    *string `json:"country"`
}

// Interest is what the person wants.
type Interest struct {
	Intent              string   `json:"intent"`
	Reason              *string  `json:"reason"`
	Message             *string  `json:"message"`
	Listing             *Listing `json:"listing"`
	PriceMin            *float64 `json:"price_min"`
	PriceMax            *float64 `json:"price_max"`
	BedroomsMin         *int     `json:"bedrooms_min"`
	Currency            *string  `json:"currency"`
	Areas               []string `json:"areas"`
	PreapprovedMortgage *bool    `json:"preapproved_mortgage"`
	Form                *string  `json:"form"`
}

// Listing is the property the lead is about.
type Listing struct {
	ID         *string `json:"id"`
	ExternalID *string `json:"external_id"`
}

// Assignment is who at the agency the lead is meant for.
type Assignment struct {
	Agent         *Agent   `json:"agent"`
	Agency        *Agency  `json:"agency"`
	OfficeIDs     []string `json:"office_ids"`
	NegotiatorIDs []string `json:"negotiator_ids"`
	// RecipientType is whom the provider addressed the lead to, verbatim
	// (Hemnet: BROKER or BROKER_AGENCY); null when it does not say.
	RecipientType *string `json:"recipient_type"`
}

// Agent is the assigned broker/negotiator.
type Agent struct {
	ID    *string `json:"id"`
	Name  *string `json:"name"`
	Email *string `json:"email"`
}

// Agency is the assigned agency.
type Agency struct {
	ID         *string `json:"id"`
	ExternalID *string `json:"external_id"`
}

// Normalize replaces nil slices by empty ones so that they marshal as [].
func (l *Lead) Normalize() {
	if l.Schema == "" {
		l.Schema = Schema
	}
	if l.Interest.Areas == nil {
		l.Interest.Areas = []string{}
	}
	if l.Assignment.OfficeIDs == nil {
		l.Assignment.OfficeIDs = []string{}
	}
	if l.Assignment.NegotiatorIDs == nil {
		l.Assignment.NegotiatorIDs = []string{}
	}
	if l.Interest.Intent == "" {
		l.Interest.Intent = IntentOther
	}
}

// Marshal returns the lead's JSON, normalized: the bytes json.Marshal
// writes, written by hand (every lead of every webhook is marshalled on the
// request's path; see encode.go).
func (l *Lead) Marshal() ([]byte, error) {
	l.Normalize()
	return l.encode(jsonw.New(2048)) // a lead with a message of a few sentences fits
}

// MarshalPooled is Marshal into a buffer from jsonw's pool: hand the bytes
// back with jsonw.Recycle once nothing refers to them (intake does, after
// the commit that stored a copy).
func (l *Lead) MarshalPooled() ([]byte, error) {
	l.Normalize()
	return l.encode(jsonw.Pooled(2048))
}

// Time is a UTC instant that marshals with millisecond precision, as in
// "2024-04-12T10:39:16.462Z".
type Time struct{ time.Time }

// TimeFormat is the layout of Time in JSON.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(TimeFormat) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}

// Str returns a pointer to s, or nil when s is empty. Providers use it so that
// an empty string from a payload becomes null rather than "".
func Str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
