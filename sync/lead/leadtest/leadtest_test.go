package leadtest_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/sync/lead"
	"github.com/leadsync/leadsync/sync/lead/leadtest"
)

// specLead is the example of SPEC.md ("The lead") with its elided ids and
// comments filled in, so that the schema is held to the documented contract.
const specLead = `{
  "schema": "leadsync.lead/v1",
  "id": "ld_0123456789abcdefghjkmnpqrs",
  "event_id": "ev_0123456789abcdefghjkmnpqrs",
  "action": "created",
  "test": false,
  "occurred_at": "2024-04-12T10:39:16.462Z",
  "received_at": "2024-04-12T10:39:16.501Z",
  "source": {"name": "hemnet", "provider": "hemnet", "entity": "contact", "entity_id": "c7bc3070-fca2-4ccc-a705-c0b275fdf0a1",
             "customer_id": null, "event_type": "CONTACT.CREATE", "via": "webhook", "request_id": "d2caad70-082f-4553-bbde-dbdca520361a"},
  "person": {"first_name": "John", "last_name": "Doe", "full_name": "John Doe",
             "email": "john@example.com", "phone": "070111222333",
             "address": {"street": "Test street 12A", "postal_code": null, "city": "Testköping", "country": null},
             "preferred_contact": "email", "marketing_consent": null},
  "interest": {"intent": "buy",
               "reason": "OTHER", "message": "I am interested in this property",
               "listing": {"id": "12345678", "external_id": "abc123def"},
               "price_min": null, "price_max": null, "bedrooms_min": null, "currency": null,
               "areas": [], "preapproved_mortgage": false, "form": "LISTING_FOR_SALE_CONTACT_FORM"},
  "assignment": {"agent": {"id": "12345", "name": "Anon Ymous", "email": "anon@example.com"},
                 "agency": {"id": "654321", "external_id": "123"}, "office_ids": [], "negotiator_ids": []}
}`

func TestSpecExampleValidates(t *testing.T) {
	leadtest.Validate(t, []byte(specLead))
}

// TestMarshalledLeadValidates holds lead.Lead and the schema together: a
// lead with every pointer nil (the emptiest a provider can produce) and one
// with every field set must both validate.
func TestMarshalledLeadValidates(t *testing.T) {
	now := lead.Time{Time: time.Date(2024, 4, 12, 10, 39, 16, 462e6, time.FixedZone("CEST", 7200))}
	s := func(v string) *string { return &v }
	f, b, n := 1.5e6, true, 3
	empty := lead.Event{Key: "k", EntityKey: "e", Lead: &lead.Lead{
		Action: lead.ActionCreated, OccurredAt: now, ReceivedAt: now,
		Source: lead.Source{Name: "x", Provider: "x", Entity: "contact", EntityID: "1", EventType: "T", Via: lead.ViaWebhook},
	}}
	full := lead.Event{Key: "k2", EntityKey: "e2", Lead: &lead.Lead{
		Action: lead.ActionUpdated, Test: true, OccurredAt: now, ReceivedAt: now,
		Source: lead.Source{
			Name: "x", Provider: "x", Entity: "applicant", EntityID: "1", CustomerID: s("SBOX"),
			EventType: "applicants.modified", Via: lead.ViaReconcile, RequestID: s("r"),
		},
		Person: lead.Person{
			FirstName: s("a"), LastName: s("b"), FullName: s("a b"), Email: s("e"), Phone: s("p"),
			Address:          &lead.Address{Street: s("s"), PostalCode: s("p"), City: s("c"), Country: s("SE")},
			PreferredContact: s("phone"),
			MarketingConsent: &b,
		},
		Interest: lead.Interest{
			Intent: lead.IntentLet, Reason: s("r"), Message: s("m"),
			Listing:  &lead.Listing{ID: s("1"), ExternalID: s("2")},
			PriceMin: &f, PriceMax: &f, BedroomsMin: &n, Currency: s("GBP"),
			Areas: []string{"a"}, PreapprovedMortgage: &b, Form: s("f"),
		},
		Assignment: lead.Assignment{
			Agent:         &lead.Agent{ID: s("1"), Name: s("n"), Email: s("e")},
			Agency:        &lead.Agency{ID: s("1"), ExternalID: s("2")},
			OfficeIDs:     []string{"o"},
			NegotiatorIDs: []string{"n"},
		},
	}}
	for name, ev := range map[string]lead.Event{"empty": empty, "full": full} {
		t.Run(name, func(t *testing.T) {
			ev.Finish()
			b, err := ev.Lead.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			leadtest.Validate(t, b)
		})
	}
}

// mutate decodes specLead, applies fn to it and re-encodes it.
func mutate(t *testing.T, fn func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(specLead), &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func obj(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

func TestInvalidLeadsFail(t *testing.T) {
	cases := map[string]func(m map[string]any){
		"missing top-level key":    func(m map[string]any) { delete(m, "test") },
		"missing nested key":       func(m map[string]any) { delete(obj(m, "person"), "marketing_consent") },
		"missing nullable key":     func(m map[string]any) { delete(obj(m, "source"), "customer_id") },
		"missing address key":      func(m map[string]any) { delete(obj(obj(m, "person"), "address"), "country") },
		"missing agent key":        func(m map[string]any) { delete(obj(obj(m, "assignment"), "agent"), "email") },
		"wrong action enum":        func(m map[string]any) { m["action"] = "create" },
		"wrong intent enum":        func(m map[string]any) { obj(m, "interest")["intent"] = "purchase" },
		"wrong via enum":           func(m map[string]any) { obj(m, "source")["via"] = "email" },
		"wrong schema const":       func(m map[string]any) { m["schema"] = "leadsync.lead/v2" },
		"extra top-level key":      func(m map[string]any) { m["recipient_type"] = "BROKER" },
		"extra nested key":         func(m map[string]any) { obj(m, "assignment")["team"] = "north" },
		"id without prefix":        func(m map[string]any) { m["id"] = "0123456789abcdefghjkmnpqrs" },
		"event id with lead pfx":   func(m map[string]any) { m["event_id"] = "ld_0123456789abcdefghjkmnpqrs" },
		"time not a date":          func(m map[string]any) { m["occurred_at"] = "yesterday" },
		"time without ms":          func(m map[string]any) { m["occurred_at"] = "2024-04-12T10:39:16Z" },
		"time not UTC":             func(m map[string]any) { m["received_at"] = "2024-04-12T12:39:16.501+02:00" },
		"time null":                func(m map[string]any) { m["received_at"] = nil },
		"number as id":             func(m map[string]any) { obj(obj(m, "interest"), "listing")["id"] = 12345678 },
		"areas null":               func(m map[string]any) { obj(m, "interest")["areas"] = nil },
		"bedrooms not integer":     func(m map[string]any) { obj(m, "interest")["bedrooms_min"] = 2.5 },
		"test not boolean":         func(m map[string]any) { m["test"] = "false" },
		"empty entity_id":          func(m map[string]any) { obj(m, "source")["entity_id"] = "" },
		"address not object":       func(m map[string]any) { obj(m, "person")["address"] = "Test street 12A" },
		"office ids not strings":   func(m map[string]any) { obj(m, "assignment")["office_ids"] = []any{1} },
		"marketing consent string": func(m map[string]any) { obj(m, "person")["marketing_consent"] = "yes" },
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			b := mutate(t, fn)
			if err := leadtest.Check(b); err == nil {
				t.Errorf("Check accepted an invalid lead: %s", b)
			}
			// Validate must report it through t, not panic or pass.
			rec := &recorder{TB: t}
			leadtest.Validate(rec, b)
			if !rec.failed {
				t.Error("Validate did not fail the test")
			}
		})
	}
}

func TestNotJSON(t *testing.T) {
	for _, b := range []string{"", "{", `{"schema":"leadsync.lead/v1"} {}`} {
		if err := leadtest.Check([]byte(b)); err == nil {
			t.Errorf("Check(%q) = nil, want error", b)
		}
	}
}

// recorder is a testing.TB that records failures instead of failing the
// enclosing test, so that Validate's own failure path can be tested.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msg = fmt.Sprintf(format, args...)
}

func TestValidateReportsViolations(t *testing.T) {
	rec := &recorder{TB: t}
	leadtest.Validate(rec, mutate(t, func(m map[string]any) { m["action"] = "create" }))
	if !strings.Contains(rec.msg, "/action") {
		t.Errorf("message does not name the failing location: %s", rec.msg)
	}
}
