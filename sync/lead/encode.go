package lead

import "github.com/leadsync/leadsync/sync/lead/jsonw"

// encode writes l as json.Marshal would, field for field in declaration
// order (TestMarshalMatchesJSON and FuzzMarshalMatchesJSON hold it to that).
// A field added to a struct here must be added below too: the test fails
// until it is.
func (l *Lead) encode(o jsonw.Object) ([]byte, error) {
	o.Str("schema", l.Schema)
	o.Str("id", l.ID)
	o.Str("event_id", l.EventID)
	o.Str("action", l.Action)
	o.Bool("test", l.Test)
	o.Time("occurred_at", l.OccurredAt.UTC(), TimeFormat)
	o.Time("received_at", l.ReceivedAt.UTC(), TimeFormat)

	s := &l.Source
	o.Begin("source")
	o.Str("name", s.Name)
	o.Str("provider", s.Provider)
	o.Str("entity", s.Entity)
	o.Str("entity_id", s.EntityID)
	o.StrPtr("customer_id", s.CustomerID)
	o.Str("event_type", s.EventType)
	o.Str("via", s.Via)
	o.StrPtr("request_id", s.RequestID)
	o.End()

	p := &l.Person
	o.Begin("person")
	o.StrPtr("first_name", p.FirstName)
	o.StrPtr("last_name", p.LastName)
	o.StrPtr("full_name", p.FullName)
	o.StrPtr("email", p.Email)
	o.StrPtr("phone", p.Phone)
	if a := p.Address; a == nil {
		o.Null("address")
	} else {
		o.Begin("address")
		o.StrPtr("street", a.Street)
		o.StrPtr("postal_code", a.PostalCode)
		o.StrPtr("city", a.City)
		o.StrPtr("country", a.Country)
		o.End()
	}
	o.StrPtr("preferred_contact", p.PreferredContact)
	o.BoolPtr("marketing_consent", p.MarketingConsent)
	o.End()

	in := &l.Interest
	o.Begin("interest")
	o.Str("intent", in.Intent)
	o.StrPtr("reason", in.Reason)
	o.StrPtr("message", in.Message)
	if li := in.Listing; li == nil {
		o.Null("listing")
	} else {
		o.Begin("listing")
		o.StrPtr("id", li.ID)
		o.StrPtr("external_id", li.ExternalID)
		o.End()
	}
	if err := o.Float64Ptr("price_min", in.PriceMin); err != nil {
		return nil, err
	}
	if err := o.Float64Ptr("price_max", in.PriceMax); err != nil {
		return nil, err
	}
	o.IntPtr("bedrooms_min", in.BedroomsMin)
	o.StrPtr("currency", in.Currency)
	o.Strs("areas", in.Areas)
	o.BoolPtr("preapproved_mortgage", in.PreapprovedMortgage)
	o.StrPtr("form", in.Form)
	o.End()

	as := &l.Assignment
	o.Begin("assignment")
	if ag := as.Agent; ag == nil {
		o.Null("agent")
	} else {
		o.Begin("agent")
		o.StrPtr("id", ag.ID)
		o.StrPtr("name", ag.Name)
		o.StrPtr("email", ag.Email)
		o.End()
	}
	if ag := as.Agency; ag == nil {
		o.Null("agency")
	} else {
		o.Begin("agency")
		o.StrPtr("id", ag.ID)
		o.StrPtr("external_id", ag.ExternalID)
		o.End()
	}
	o.Strs("office_ids", as.OfficeIDs)
	o.Strs("negotiator_ids", as.NegotiatorIDs)
	o.StrPtr("recipient_type", as.RecipientType)
	o.End()
	return o.Done(), nil
}
