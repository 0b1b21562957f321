package rechat

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/leadsync/leadsync/sync/lead"
)

// showing is a Rechat showing: the viewing set-up of one listing (or deal,
// or bare address), its roles (the listing side's agents) and its
// appointments (each a buyer's booking, with the buyer as a contact).
type showing struct {
	ID           text              `json:"id"`
	Title        text              `json:"title"`
	Brand        ref               `json:"brand"`
	Listing      listingRef        `json:"listing"`
	Address      addresses         `json:"address"`
	Roles        []json.RawMessage `json:"roles"`
	Appointments []json.RawMessage `json:"appointments"`
}

// listingRef is a showing's listing: its id, or the populated listing with
// its MLS number and the property's address.
type listingRef struct {
	ID, MLSNumber text
	Address       addresses
}

// UnmarshalJSON implements json.Unmarshaler.
func (l *listingRef) UnmarshalJSON(b []byte) error {
	*l = listingRef{}
	var obj struct {
		ID        text      `json:"id"`
		MLSNumber text      `json:"mls_number"`
		Address   addresses `json:"address"`
		Property  struct {
			Address addresses `json:"address"`
		} `json:"property"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return l.ID.UnmarshalJSON(b) // an id, or null
	}
	l.ID, l.MLSNumber, l.Address = obj.ID, obj.MLSNumber, obj.Address
	if len(l.Address) == 0 {
		l.Address = obj.Property.Address
	}
	return nil
}

// role is a showing role: an agent (or assistant) of the listing side.
type role struct {
	Role        text `json:"role"`
	User        ref  `json:"user"`
	FirstName   text `json:"first_name"`
	LastName    text `json:"last_name"`
	Email       text `json:"email"`
	PhoneNumber text `json:"phone_number"`
}

// appointment is a buyer's booking of a showing.
type appointment struct {
	ID        text            `json:"id"`
	Source    text            `json:"source"`
	Time      epoch           `json:"time"`
	Status    text            `json:"status"`
	Contact   json.RawMessage `json:"contact"`
	CreatedAt epoch           `json:"created_at"`
	UpdatedAt epoch           `json:"updated_at"`
}

// parseShowings makes one event per appointment of the showing: the buyer
// is the lead, a viewing of the listing its interest. A showing without
// appointments (what showing.created usually carries: the listing agent has
// just opened the listing to viewings) is one ignored event.
func (s *Source) parseShowings(d *delivery, payload json.RawMessage) ([]lead.Event, error) {
	if !strings.HasPrefix(strings.ToLower(d.event), "showing.") {
		return []lead.Event{s.quarantined(d, fmt.Sprintf("unsupported Showings event %q", printable(d.event)))}, nil
	}
	var p struct {
		Showing *showing `json:"showing"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	if p.Showing == nil {
		return nil, fmt.Errorf("decode payload: no showing: not a Showings payload")
	}
	sh := p.Showing
	if len(sh.Appointments) == 0 {
		return []lead.Event{s.ignored(d, fmt.Sprintf("%s has no appointments: no buyer to make a lead of", printable(d.event)))}, nil
	}
	agent := listingAgent(sh.Roles)
	out := make([]lead.Event, 0, len(sh.Appointments))
	for i, raw := range sh.Appointments {
		var a appointment
		if err := json.Unmarshal(raw, &a); err != nil {
			out = append(out, s.quarantined(d, fmt.Sprintf("appointment %d: decode: %v", i, err), "appointment", itoa(i)))
			continue
		}
		if a.ID == "" {
			out = append(out, s.quarantined(d, fmt.Sprintf("appointment %d has no id", i), "appointment", itoa(i)))
			continue
		}
		ev, err := s.appointmentEvent(d, sh, &a, agent)
		if err != nil {
			out = append(out, s.quarantined(d, fmt.Sprintf("appointment %d: %v", i, err), "appointment", itoa(i)))
			continue
		}
		out = append(out, ev)
	}
	return out, nil
}

// appointmentEvent maps one appointment. showing.created makes created
// leads; any other showing.* event updated ones. The key is the appointment
// and its version (updated_at, else status and time), so that a showing
// event that repeats unchanged appointments makes no new events.
func (s *Source) appointmentEvent(d *delivery, sh *showing, a *appointment, agent *lead.Agent) (lead.Event, error) {
	var c contact
	if len(a.Contact) > 0 && strings.HasPrefix(strings.TrimSpace(string(a.Contact)), "{") {
		if err := json.Unmarshal(a.Contact, &c); err != nil {
			return lead.Event{}, fmt.Errorf("contact: decode: %w", err)
		}
	}
	action := lead.ActionUpdated
	if strings.EqualFold(d.event, "showing.created") {
		action = lead.ActionCreated
	}
	id := string(a.ID)
	l := s.newLead(d, action, "showing_appointment", id, strings.ToLower(d.event), d.occurred(a.UpdatedAt.t, a.CreatedAt.t))
	l.Source.CustomerID = strPtr(sh.Brand.ID)
	l.Person = mapPerson(&c, nil)
	l.Interest = lead.Interest{
		Intent:  lead.IntentBuy,
		Message: describe(sh, a),
		Form:    a.Source.ptr(),
	}
	if sh.Listing.ID != "" || sh.Listing.MLSNumber != "" {
		l.Interest.Listing = &lead.Listing{ID: sh.Listing.ID.ptr(), ExternalID: sh.Listing.MLSNumber.ptr()}
	}
	l.Assignment.Agent = agent
	vkey := a.UpdatedAt.raw
	if vkey == "" {
		vkey = string(a.Status) + "@" + a.Time.raw
	}
	// Without updated_at the envelope's timestamp orders the versions, as
	// for contacts: otherwise a late retry of an older status would be
	// applied over a newer one.
	vt := a.UpdatedAt.t
	if vt.IsZero() {
		vt = d.sent
	}
	ev := lead.Event{
		Key:       lead.Key(s.name, "showing_appointment", id, vkey),
		EntityKey: lead.Key(s.name, "showing_appointment", id),
		Version:   vt,
		Status:    lead.StatusAccepted,
		Lead:      l,
	}
	ev.Finish()
	return ev, nil
}

// describe says what the appointment is, as the lead's message: the lead
// has no fields for a viewing's time or the listing's address, and an agent
// reading the lead needs both. For example "Showing appointment (Requested)
// for 123 Main St, Dallas, TX 75201 on 2024-06-20T15:30:00Z".
func describe(sh *showing, a *appointment) *string {
	where := ""
	for _, as := range []addresses{sh.Address, sh.Listing.Address} {
		if len(as) > 0 && where == "" {
			where = as[0].oneLine()
		}
	}
	if where == "" {
		where = string(sh.Title)
	}
	b := strings.Builder{}
	b.WriteString("Showing appointment")
	if a.Status != "" {
		fmt.Fprintf(&b, " (%s)", a.Status)
	}
	if where != "" {
		fmt.Fprintf(&b, " for %s", where)
	}
	if !a.Time.t.IsZero() {
		fmt.Fprintf(&b, " on %s", a.Time.t.UTC().Format(time.RFC3339))
	}
	return strPtr(b.String())
}

// listingAgent is the agent the appointment is for: the showing's
// SellerAgent role, else CoSellerAgent, else the first role with a name or
// an email. Roles that cannot be decoded are skipped.
func listingAgent(raw []json.RawMessage) *lead.Agent {
	var roles []role
	for _, r := range raw {
		var x role
		if json.Unmarshal(r, &x) == nil {
			roles = append(roles, x)
		}
	}
	for _, want := range []string{"selleragent", "coselleragent", ""} {
		for _, r := range roles {
			if want != "" && strings.ToLower(string(r.Role)) != want {
				continue
			}
			ag := &lead.Agent{
				ID:    strPtr(r.User.ID),
				Name:  firstOf(deref(joinNonEmpty(string(r.FirstName), string(r.LastName))), r.User.Name),
				Email: firstOf(string(r.Email), r.User.Email),
			}
			if ag.Name != nil || ag.Email != nil || want != "" && ag.ID != nil {
				return ag
			}
		}
	}
	return nil
}
