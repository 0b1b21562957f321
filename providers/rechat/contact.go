package rechat

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/leadsync/leadsync/sync/lead"
)

// contact is a Rechat contact as its ORM serialises it: summary fields at
// the top (first_name, email, phone_numbers…), and attributes that are ids
// into the payload's references (format "references") or populated objects.
type contact struct {
	ID           text      `json:"id"`
	Brand        ref       `json:"brand"`
	User         ref       `json:"user"`
	DisplayName  text      `json:"display_name"`
	FirstName    text      `json:"first_name"`
	LastName     text      `json:"last_name"`
	Email        text      `json:"email"`
	Emails       texts     `json:"emails"`
	PhoneNumber  text      `json:"phone_number"`
	PhoneNumbers texts     `json:"phone_numbers"`
	Address      addresses `json:"address"`
	Source       text      `json:"source"`
	SourceType   text      `json:"source_type"`
	Tags         texts     `json:"tags"`
	Notes        texts     `json:"notes"`
	Note         texts     `json:"note"`
	CreatedAt    epoch     `json:"created_at"`
	UpdatedAt    epoch     `json:"updated_at"`
	DeletedAt    epoch     `json:"deleted_at"`
	Attributes   []attrRef `json:"attributes"`
}

// contactsPayload is the payload of a Contacts delivery: up to 50 contacts
// (Rechat chunks larger changes), the referenced models, and metadata the
// mapping does not use.
type contactsPayload struct {
	Data       *[]json.RawMessage `json:"data"`
	References json.RawMessage    `json:"references"`
	Metadata   json.RawMessage    `json:"metadata"`
}

// contactActions maps Contacts events onto lead actions.
var contactActions = map[string]string{
	"create": lead.ActionCreated,
	"update": lead.ActionUpdated,
	"delete": lead.ActionDeleted,
}

// parseContacts makes one event per contact, each with its own key.
func (s *Source) parseContacts(d *delivery, payload json.RawMessage) ([]lead.Event, error) {
	action, ok := contactActions[strings.ToLower(d.event)]
	if !ok {
		return []lead.Event{s.quarantined(d, fmt.Sprintf("unsupported Contacts event %q", printable(d.event)))}, nil
	}
	var p contactsPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	if p.Data == nil {
		return nil, fmt.Errorf("decode payload: no data: not a Contacts payload")
	}
	if len(*p.Data) == 0 {
		return []lead.Event{s.ignored(d, "no contacts in payload")}, nil
	}
	refs := newReferences(p.References)
	out := make([]lead.Event, 0, len(*p.Data))
	for i, raw := range *p.Data {
		var c contact
		if err := json.Unmarshal(raw, &c); err != nil {
			out = append(out, s.quarantined(d, fmt.Sprintf("contact %d: decode: %v", i, err), "contact", itoa(i)))
			continue
		}
		if c.ID == "" {
			out = append(out, s.quarantined(d, fmt.Sprintf("contact %d has no id", i), "contact", itoa(i)))
			continue
		}
		out = append(out, s.contactEvent(d, &c, refs.attributes(&c), action))
	}
	return out, nil
}

// contactEvent maps one contact. Its key is the contact, the event and the
// version (updated_at, deleted_at for a delete, else the envelope's
// timestamp), so that each change is one event and Rechat's retries of it
// are duplicates; the entity key is the contact.
func (s *Source) contactEvent(d *delivery, c *contact, attrs attributes, action string) lead.Event {
	version := c.UpdatedAt
	if action == lead.ActionDeleted && !c.DeletedAt.t.IsZero() {
		version = c.DeletedAt
	}
	vkey := version.raw
	if vkey == "" && d.sentRaw != "" {
		vkey = "ts:" + d.sentRaw
	}
	id := string(c.ID)
	l := s.newLead(d, action, "contact", id, "contacts."+strings.ToLower(d.event), d.occurred(version.t))
	l.Source.CustomerID = strPtr(c.Brand.ID)
	l.Person = mapPerson(c, attrs)
	l.Interest = lead.Interest{
		Intent:  intentFromTags(c.tags(attrs)),
		Message: c.message(attrs),
		Form:    firstOf(string(c.SourceType), attrs.first("source_type"), string(c.Source), attrs.first("source")),
	}
	if u := c.User; u.ID != "" || u.Email != "" {
		l.Assignment.Agent = &lead.Agent{ID: strPtr(u.ID), Name: strPtr(u.Name), Email: strPtr(u.Email)}
	}
	vt := version.t
	if vt.IsZero() {
		vt = d.sent
	}
	ev := lead.Event{
		Key:       lead.Key(s.name, "contact", id, strings.ToLower(d.event), vkey),
		EntityKey: lead.Key(s.name, "contact", id),
		Version:   vt,
		Status:    lead.StatusAccepted,
		Lead:      l,
	}
	ev.Finish()
	return ev
}

// mapPerson maps the person of a contact: summary fields first, attributes
// where a summary field is missing.
func mapPerson(c *contact, attrs attributes) lead.Person {
	first := firstOf(string(c.FirstName), attrs.first("first_name"))
	last := firstOf(string(c.LastName), attrs.first("last_name"))
	email := firstOf(string(c.Email), first1(c.Emails), attrs.first("email"))
	phone := firstOf(string(c.PhoneNumber), first1(c.PhoneNumbers), attrs.first("phone_number"))
	p := lead.Person{
		FirstName: first,
		LastName:  last,
		Email:     email,
		Phone:     phone,
		Address:   c.Address.lead(),
	}
	p.FullName = joinNonEmpty(deref(first), deref(last))
	if p.FullName == nil {
		p.FullName = displayName(string(c.DisplayName), c.Emails, c.PhoneNumbers, deref(email), deref(phone))
	}
	if p.Address == nil {
		p.Address = attrs.address()
	}
	return p
}

// displayName is Rechat's display_name when it is a name: Rechat falls back
// to the email or phone number for a contact without one, and that is not a
// full name.
func displayName(dn string, emails, phones []string, email, phone string) *string {
	if dn == "" || strings.Contains(dn, "@") {
		return nil
	}
	for _, v := range append(append([]string{email, phone}, emails...), phones...) {
		if strings.EqualFold(dn, v) {
			return nil
		}
	}
	return &dn
}

func (c *contact) tags(attrs attributes) []string {
	if len(c.Tags) > 0 {
		return c.Tags
	}
	return attrs.all("tag")
}

// message is the contact's notes, joined by blank lines: for a lead from a
// website or portal, that is where Rechat puts what the person wrote.
func (c *contact) message(attrs attributes) *string {
	notes := append(append(append([]string{}, c.Notes...), c.Note...), attrs.all("note")...)
	return strPtr(strings.Join(notes, "\n\n"))
}

// tagIntents maps Rechat's contact tags (its defaults and common custom
// ones) onto intents; the first tag that matches wins.
var tagIntents = map[string]string{
	"buyer": lead.IntentBuy, "buyers": lead.IntentBuy, "buyer lead": lead.IntentBuy, "first time buyer": lead.IntentBuy,
	"seller": lead.IntentSell, "sellers": lead.IntentSell, "seller lead": lead.IntentSell,
	"tenant": lead.IntentRent, "renter": lead.IntentRent, "renters": lead.IntentRent,
	"landlord": lead.IntentLet, "landlords": lead.IntentLet,
}

func intentFromTags(tags []string) string {
	for _, t := range tags {
		if in, ok := tagIntents[strings.ToLower(strings.TrimSpace(t))]; ok {
			return in
		}
	}
	return lead.IntentOther
}

// firstOf returns the first non-empty value, or nil.
func firstOf(vs ...string) *string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return &v
		}
	}
	return nil
}

func first1(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// joinNonEmpty joins the trimmed, non-empty parts with a space, or returns
// nil when there are none.
func joinNonEmpty(parts ...string) *string { return joinWith(" ", parts...) }

// joinWith is joinNonEmpty with another separator.
func joinWith(sep string, parts ...string) *string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strPtr(strings.Join(out, sep))
}
