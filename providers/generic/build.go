package generic

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/leadsync/leadsync/sync/lead"
)

// event maps one lead: from the whole document, or, when index >= 0, from
// the document and element el of the Each array.
func (s *Source) event(ev eventInfo, doc, el any, index int) (lead.Event, error) {
	l := &lead.Lead{
		Action:     lead.ActionCreated,
		OccurredAt: lead.Time{Time: ev.occurred.UTC()},
		ReceivedAt: lead.Time{Time: ev.received.UTC()},
		Source: lead.Source{
			Name: s.name, Provider: Provider, Entity: DefaultEntity, EventType: ev.typ, Via: lead.ViaWebhook,
		},
	}
	var id identity
	for _, f := range s.m.fields {
		root := doc
		if f.relative {
			root = el
		}
		raw, ok := f.ptr.Lookup(root)
		if !ok {
			continue
		}
		v, err := convert(f.kind, raw)
		if err != nil {
			return lead.Event{}, fmt.Errorf("fields.%s: %s: %w", f.name, f.conf, err)
		}
		apply(l, &id, f.name, v)
	}
	if l.Person.FullName == nil {
		l.Person.FullName = joinNonEmpty(l.Person.FirstName, l.Person.LastName)
	}
	key := lead.Key(s.name, ev.id)
	if index >= 0 {
		key = lead.Key(s.name, ev.id, strconv.Itoa(index))
	}
	entityKey := s.entity(l, &id, ev.id, index)
	e := lead.Event{Key: key, EntityKey: entityKey, Version: ev.version, Status: lead.StatusAccepted, Lead: l}
	e.Finish()
	return e, nil
}

// identity holds the mapped values that are not lead fields as such.
type identity struct {
	action, entity, entityID *string
}

// entity fills in the lead's action, entity and entity id, and returns the
// entity key: by entity_id, else by email (lowercased), else by the event
// id (and element index), each under its own kind so that an id and an
// email never collide; the customer id, when mapped, is part of it.
func (s *Source) entity(l *lead.Lead, id *identity, eventID string, index int) string {
	if id.action != nil {
		l.Action = *id.action
	}
	if id.entity != nil {
		l.Source.Entity = *id.entity
	}
	parts := []string{s.name}
	if c := l.Source.CustomerID; c != nil {
		parts = append(parts, "customer", *c)
	}
	switch {
	case id.entityID != nil:
		l.Source.EntityID = *id.entityID
		parts = append(parts, "id", *id.entityID)
	case l.Person.Email != nil:
		l.Source.EntityID = strings.ToLower(*l.Person.Email)
		parts = append(parts, "email", l.Source.EntityID)
	case index >= 0:
		l.Source.EntityID = eventID + "/" + strconv.Itoa(index)
		parts = append(parts, "event", eventID, strconv.Itoa(index))
	default:
		l.Source.EntityID = eventID
		parts = append(parts, "event", eventID)
	}
	return lead.Key(parts...)
}

// apply sets the lead field name to v. Nested objects (address, listing,
// agent, agency) are created only for a non-null value, so that a lead with
// nothing in them has null, not an object of nulls.
func apply(l *lead.Lead, id *identity, name string, v value) {
	p, in, as := &l.Person, &l.Interest, &l.Assignment
	switch name {
	case "first_name":
		p.FirstName = v.s
	case "last_name":
		p.LastName = v.s
	case "full_name":
		p.FullName = v.s
	case "email":
		p.Email = v.s
	case "phone":
		p.Phone = v.s
	case "street", "postal_code", "city", "country":
		applyAddress(p, name, v.s)
	case "preferred_contact":
		p.PreferredContact = v.s
	case "marketing_consent":
		p.MarketingConsent = v.b
	case "intent":
		if v.s != nil {
			in.Intent = *v.s
		}
	case "reason":
		in.Reason = v.s
	case "message":
		in.Message = v.s
	case "listing_id", "listing_external_id":
		applyListing(in, name, v.s)
	case "price_min":
		in.PriceMin = v.f
	case "price_max":
		in.PriceMax = v.f
	case "bedrooms_min":
		in.BedroomsMin = v.i
	case "currency":
		in.Currency = v.s
	case "areas":
		in.Areas = v.list
	case "preapproved_mortgage":
		in.PreapprovedMortgage = v.b
	case "form":
		in.Form = v.s
	case "agent_id", "agent_name", "agent_email":
		applyAgent(as, name, v.s)
	case "agency_id", "agency_external_id":
		applyAgency(as, name, v.s)
	case "office_ids":
		as.OfficeIDs = v.list
	case "negotiator_ids":
		as.NegotiatorIDs = v.list
	case "action":
		id.action = v.s
	case "entity":
		id.entity = v.s
	case "entity_id":
		id.entityID = v.s
	case "customer_id":
		l.Source.CustomerID = v.s
	case "test":
		l.Test = v.b != nil && *v.b
	}
}

func applyAddress(p *lead.Person, name string, s *string) {
	if s == nil {
		return
	}
	if p.Address == nil {
		p.Address = &lead.Address{}
	}
	switch name {
	case "street":
		p.Address.Street = s
	case "postal_code":
		p.Address.PostalCode = s
	case "city":
		p.Address.City = s
	case "country":
		p.Address.Country = s
	}
}

func applyListing(in *lead.Interest, name string, s *string) {
	if s == nil {
		return
	}
	if in.Listing == nil {
		in.Listing = &lead.Listing{}
	}
	if name == "listing_id" {
		in.Listing.ID = s
	} else {
		in.Listing.ExternalID = s
	}
}

func applyAgent(as *lead.Assignment, name string, s *string) {
	if s == nil {
		return
	}
	if as.Agent == nil {
		as.Agent = &lead.Agent{}
	}
	switch name {
	case "agent_id":
		as.Agent.ID = s
	case "agent_name":
		as.Agent.Name = s
	case "agent_email":
		as.Agent.Email = s
	}
}

func applyAgency(as *lead.Assignment, name string, s *string) {
	if s == nil {
		return
	}
	if as.Agency == nil {
		as.Agency = &lead.Agency{}
	}
	if name == "agency_id" {
		as.Agency.ID = s
	} else {
		as.Agency.ExternalID = s
	}
}

// joinNonEmpty joins the non-empty parts with a space, or returns null when
// there are none.
func joinNonEmpty(parts ...*string) *string {
	var out []string
	for _, p := range parts {
		if p != nil && *p != "" {
			out = append(out, *p)
		}
	}
	return lead.Str(strings.Join(out, " "))
}
