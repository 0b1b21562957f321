package rechat

// From a lead to the Lead Capture API's JSON body.

import (
	"slices"
	"strconv"
	"strings"

	"github.com/leadsync/leadsync/sync/lead"
)

// Payload is the body of a Lead Capture request, as Rechat documents it.
// Every field but source_type is optional; empty ones are left out.
type Payload struct {
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	Email       string `json:"email,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
	// Note is the lead's message, then what it is about (intent, listing,
	// prices, the person's address…), then "leadsync lead ld_… delivery
	// msg_…" on the last line, for de-duplication by hand.
	Note string `json:"note,omitempty"`
	// Address is the property of interest, as Rechat reads it: the
	// person's own address for the intents where that is the property
	// (sell, let, valuation), else left out; the note always has it.
	Address    string `json:"address,omitempty"`
	LeadSource string `json:"lead_source,omitempty"`
	SourceType string `json:"source_type"`
	// Tag and Tags are the same tags: Rechat's current Lead Capture page
	// documents tag (string[]), its earlier revisions tags. Both are sent,
	// so that either reading gets them.
	Tag  []string `json:"tag,omitempty"`
	Tags []string `json:"tags,omitempty"`
}

// ownProperty are the intents where the person's address is the property
// the lead is about.
var ownProperty = []string{lead.IntentSell, lead.IntentLet, lead.IntentValuation}

// payload maps l.
func (s *Sink) payload(deliveryID string, l *lead.Lead) Payload {
	first, last := names(l.Person)
	p := Payload{
		FirstName: first, LastName: last,
		Email: deref(l.Person.Email), PhoneNumber: deref(l.Person.Phone),
		Note:       note(deliveryID, l),
		LeadSource: s.leadSource, SourceType: s.sourceType,
		Tags: slices.Clone(s.tags),
	}
	if slices.Contains(ownProperty, l.Interest.Intent) {
		p.Address = l.Person.Address.Text()
	}
	if p.LeadSource == "" {
		p.LeadSource = or(l.Source.Provider, DefaultLeadSource)
	}
	if l.Test && !slices.Contains(p.Tags, "test") {
		p.Tags = append(p.Tags, "test")
	}
	p.Tag = p.Tags
	return p
}

// names returns first and last name; from the full name, split at its last
// space, when the provider gave neither.
func names(p lead.Person) (first, last string) {
	first, last = strings.TrimSpace(deref(p.FirstName)), strings.TrimSpace(deref(p.LastName))
	if first != "" || last != "" {
		return first, last
	}
	full := strings.TrimSpace(deref(p.FullName))
	if i := strings.LastIndexByte(full, ' '); i > 0 {
		return strings.TrimSpace(full[:i]), full[i+1:]
	}
	return full, ""
}

// note is the message, the details Rechat has no field for, and the ids.
func note(deliveryID string, l *lead.Lead) string {
	var b strings.Builder
	if m := strings.TrimSpace(deref(l.Interest.Message)); m != "" {
		b.WriteString(m + "\n\n")
	}
	in := l.Interest
	line := func(label, value string) {
		if value != "" {
			b.WriteString(label + ": " + value + "\n")
		}
	}
	if l.Action == lead.ActionUpdated {
		line("Update", "this lead was updated at its source")
	}
	if in.Intent != lead.IntentOther {
		line("Intent", in.Intent)
	}
	if in.Listing != nil {
		line("Listing", joinNonEmpty(" ", deref(in.Listing.ID), wrap("(ref ", deref(in.Listing.ExternalID), ")")))
	}
	line("Price", in.PriceText())
	line("Bedrooms (min)", intString(in.BedroomsMin))
	line("Areas", strings.Join(in.Areas, ", "))
	line("Address", l.Person.Address.Text())
	line("Prefers", deref(l.Person.PreferredContact))
	if ag := l.Assignment.Agent; ag != nil {
		line("Agent", joinNonEmpty(" ", deref(ag.Name), wrap("<", deref(ag.Email), ">")))
	}
	line("Source", joinNonEmpty(" ", l.Source.Name, wrap("(", l.Source.EventType, ")")))
	b.WriteString("leadsync lead " + l.ID + " delivery " + deliveryID)
	return b.String()
}

// wrap returns s between open and close, or "" when s is.
func wrap(open, s, close string) string {
	if s == "" {
		return ""
	}
	return open + s + close
}

func intString(n *int) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(*n)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
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
