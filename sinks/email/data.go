package email

// What the templates are executed with: a lead's values made readable.

import (
	"strconv"
	"strings"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sync/lead"
)

// Data is what the templates are executed with. Its strings are one
// lead's values made readable, "" where the lead has none; Lead holds
// everything else (its pointers print as their values in templates).
type Data struct {
	Lead       *lead.Lead
	DeliveryID string
	Heading    string // "New lead", "Updated lead" or "Deleted lead"
	Test       bool   // sandbox data: the default templates say so loudly
	Who        string // Name, else Email, else Phone, else "Someone"

	Name, Email, Phone string
	PreferredContact   string
	Address            string // one line: "Test street 12A, 123 45 Testköping, SE"
	Consent            string // marketing consent: "yes", "no" or ""

	Intent                       string // "buy", "sell", "rent", "let", "valuation" or "other"
	Reason, Form, Message        string
	ListingID, ListingExternalID string
	Price                        string // "1000000–2500000 SEK", "from 1000000", "up to 900"
	BedroomsMin                  string
	Areas                        string // comma-separated
	Mortgage                     string // "pre-approved", "not pre-approved" or ""

	AgentName, AgentEmail string
	Agency                string // the agency id, and its external id in parentheses

	Source     string // "hemnet (provider hemnet, CONTACT.CREATE)"
	ReceivedAt string // "2024-04-12 10:39 UTC"
	LeadID     string
	EventID    string
}

// newData makes the template data of a delivery.
func newData(d sinks.Delivery, l *lead.Lead) Data {
	p, in, as := l.Person, l.Interest, l.Assignment
	x := Data{
		Lead: l, DeliveryID: d.ID, Heading: heading(l.Action), Test: l.Test,
		Name: personName(l), Email: deref(p.Email), Phone: deref(p.Phone),
		PreferredContact: deref(p.PreferredContact), Address: p.Address.Text(), Consent: yesNo(p.MarketingConsent, "yes", "no"),
		Intent: in.Intent, Reason: deref(in.Reason), Form: deref(in.Form), Message: strings.TrimSpace(deref(in.Message)),
		Price: in.PriceText(), BedroomsMin: intString(in.BedroomsMin), Areas: strings.Join(in.Areas, ", "),
		Mortgage: yesNo(in.PreapprovedMortgage, "pre-approved", "not pre-approved"),
		Source:   source(l.Source), ReceivedAt: when(l.ReceivedAt.Time), LeadID: l.ID, EventID: l.EventID,
	}
	if in.Listing != nil {
		x.ListingID, x.ListingExternalID = deref(in.Listing.ID), deref(in.Listing.ExternalID)
	}
	if as.Agent != nil {
		x.AgentName, x.AgentEmail = deref(as.Agent.Name), deref(as.Agent.Email)
	}
	if as.Agency != nil {
		x.Agency = joinNonEmpty(" ", deref(as.Agency.ID), parens(deref(as.Agency.ExternalID)))
	}
	x.Who = firstNonEmpty(oneLine(x.Name), x.Email, x.Phone, "Someone")
	return x
}

func heading(action string) string {
	switch action {
	case lead.ActionUpdated:
		return "Updated lead"
	case lead.ActionDeleted:
		return "Deleted lead"
	}
	return "New lead"
}

// personName is the full name, else first and last name joined.
func personName(l *lead.Lead) string {
	if n := strings.TrimSpace(deref(l.Person.FullName)); n != "" {
		return n
	}
	return joinNonEmpty(" ", strings.TrimSpace(deref(l.Person.FirstName)), strings.TrimSpace(deref(l.Person.LastName)))
}

func source(s lead.Source) string {
	detail := joinNonEmpty(", ", prefixed("provider ", s.Provider), s.EventType)
	if s.Via != "" && s.Via != lead.ViaWebhook {
		detail = joinNonEmpty(", ", detail, "via "+s.Via)
	}
	return joinNonEmpty(" ", s.Name, parens(detail))
}

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func yesNo(b *bool, yes, no string) string {
	switch {
	case b == nil:
		return ""
	case *b:
		return yes
	}
	return no
}

func intString(n *int) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(*n)
}

func parens(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func joinNonEmpty(sep string, parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// exampleData is a lead with every field set, to try templates on.
func exampleData() Data {
	s, f, n, b := lead.Str, func(v float64) *float64 { return &v }, 3, true
	l := &lead.Lead{
		ID: "ld_example", EventID: "ev_example", Action: lead.ActionCreated,
		ReceivedAt: lead.Time{Time: time.Date(2024, 4, 12, 10, 39, 16, 0, time.UTC)},
		Source:     lead.Source{Name: "hemnet", Provider: "hemnet", Entity: "contact", EntityID: "c1", EventType: "CONTACT.CREATE", Via: lead.ViaWebhook},
		Person: lead.Person{FirstName: s("John"), LastName: s("Doe"), FullName: s("John Doe"), Email: s("john@example.com"),
			Phone: s("+46 70 111 22 33"), PreferredContact: s("email"), MarketingConsent: &b,
			Address: &lead.Address{Street: s("Test street 12A"), PostalCode: s("123 45"), City: s("Testköping"), Country: s("SE")}},
		Interest: lead.Interest{Intent: lead.IntentBuy, Reason: s("OTHER"), Message: s("I am interested\nin this property"),
			Listing: &lead.Listing{ID: s("12345678"), ExternalID: s("abc123")}, PriceMin: f(1e6), PriceMax: f(2.5e6),
			BedroomsMin: &n, Currency: s("SEK"), Areas: []string{"Södermalm"}, PreapprovedMortgage: &b, Form: s("CONTACT_FORM")},
		Assignment: lead.Assignment{Agent: &lead.Agent{ID: s("1"), Name: s("Anon Ymous"), Email: s("anon@example.com")},
			Agency: &lead.Agency{ID: s("654321"), ExternalID: s("123")}},
	}
	return newData(sinks.Delivery{ID: "msg_example"}, l)
}
