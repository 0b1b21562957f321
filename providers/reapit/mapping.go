package reapit

import (
	"math"
	"strings"
	"time"

	"github.com/leadsync/leadsync/sync/lead"
)

// applicant is the part of Reapit's ApplicantModel that a lead is made of,
// the same in a webhook's new/old and in GET /applicants. A JSON null
// leaves a string empty, which maps to a lead null.
type applicant struct {
	ID              string     `json:"id"`
	Created         string     `json:"created"`
	Modified        string     `json:"modified"`
	MarketingMode   string     `json:"marketingMode"`
	Currency        string     `json:"currency"`
	Notes           string     `json:"notes"`
	BedroomsMin     *float64   `json:"bedroomsMin"`
	LocationOptions []string   `json:"locationOptions"`
	Buying          *buying    `json:"buying"`
	Renting         *renting   `json:"renting"`
	Source          *appSource `json:"source"`
	OfficeIDs       []string   `json:"officeIds"`
	NegotiatorIDs   []string   `json:"negotiatorIds"`
	Related         []related  `json:"related"`
	ETag            string     `json:"_eTag"`
}

type buying struct {
	PriceFrom *float64 `json:"priceFrom"`
	PriceTo   *float64 `json:"priceTo"`
	ReasonID  string   `json:"reasonId"`
}

type renting struct {
	RentFrom      *float64 `json:"rentFrom"`
	RentTo        *float64 `json:"rentTo"`
	RentFrequency string   `json:"rentFrequency"`
}

type appSource struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// related is one entry of the applicant's related contacts and companies.
type related struct {
	Name             string   `json:"name"`
	Forename         string   `json:"forename"`
	Surname          string   `json:"surname"`
	Type             string   `json:"type"`
	HomePhone        string   `json:"homePhone"`
	WorkPhone        string   `json:"workPhone"`
	MobilePhone      string   `json:"mobilePhone"`
	Email            string   `json:"email"`
	MarketingConsent string   `json:"marketingConsent"`
	FromArchive      bool     `json:"fromArchive"`
	PrimaryAddress   *address `json:"primaryAddress"`
}

type address struct {
	BuildingName   string `json:"buildingName"`
	BuildingNumber string `json:"buildingNumber"`
	Line1          string `json:"line1"`
	Line2          string `json:"line2"`
	Line3          string `json:"line3"`
	Line4          string `json:"line4"`
	Postcode       string `json:"postcode"`
	CountryID      string `json:"countryId"`
}

// meta is what a lead takes from the event rather than the applicant.
type meta struct {
	customer  string
	eventType string
	via       string
	action    string
	occurred  time.Time
	received  time.Time
}

// mapApplicant builds the lead of applicant id; the caller's Finish fills
// in its ids.
func (s *Source) mapApplicant(a *applicant, id string, m meta) *lead.Lead {
	return &lead.Lead{
		Action:     m.action,
		Test:       m.customer == CustomerSandbox,
		OccurredAt: lead.Time{Time: m.occurred.UTC()},
		ReceivedAt: lead.Time{Time: m.received.UTC()},
		Source: lead.Source{
			Name:       s.name,
			Provider:   Provider,
			Entity:     "applicant",
			EntityID:   id,
			CustomerID: lead.Str(m.customer),
			EventType:  m.eventType,
			Via:        m.via,
		},
		Person:   mapPerson(a.person()),
		Interest: mapInterest(a),
		Assignment: lead.Assignment{
			OfficeIDs:     ids(a.OfficeIDs),
			NegotiatorIDs: ids(a.NegotiatorIDs),
		},
	}
}

// person picks the related entry the lead is about: the first contact that
// is not archived, else the first contact. Companies are skipped. Nil when
// there is no contact.
func (a *applicant) person() *related {
	var archived *related
	for i := range a.Related {
		r := &a.Related[i]
		if !strings.EqualFold(strings.TrimSpace(r.Type), "contact") {
			continue
		}
		if !r.FromArchive {
			return r
		}
		if archived == nil {
			archived = r
		}
	}
	return archived
}

func mapPerson(r *related) lead.Person {
	if r == nil {
		return lead.Person{}
	}
	full := str(r.Name)
	if full == nil {
		full = join(" ", r.Forename, r.Surname)
	}
	return lead.Person{
		FirstName:        str(r.Forename),
		LastName:         str(r.Surname),
		FullName:         full,
		Email:            str(r.Email),
		Phone:            first(r.MobilePhone, r.HomePhone, r.WorkPhone),
		Address:          mapAddress(r.PrimaryAddress),
		MarketingConsent: consent(r.MarketingConsent),
	}
}

// mapAddress implements the address rule of the package doc.
func mapAddress(ad *address) *lead.Address {
	if ad == nil {
		return nil
	}
	number := strings.TrimSpace(ad.BuildingNumber) + " " + strings.TrimSpace(ad.Line1)
	out := &lead.Address{
		Street:     join(", ", ad.BuildingName, number),
		PostalCode: str(ad.Postcode),
		City:       city(ad),
		Country:    str(ad.CountryID),
	}
	if out.Street == nil && out.PostalCode == nil && out.City == nil && out.Country == nil {
		return nil
	}
	return out
}

// city: Reapit's lines after line1 run from locality to county. With all of
// line2-line4 filled, line3 is the town; otherwise line2 is (line3 when
// line2 is empty).
func city(ad *address) *string {
	l2, l3 := str(ad.Line2), str(ad.Line3)
	if l2 != nil && l3 != nil && str(ad.Line4) != nil {
		return l3
	}
	if l2 != nil {
		return l2
	}
	return l3
}

func consent(v string) *bool {
	var b bool
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "grant":
		b = true
	case "deny":
		b = false
	default:
		return nil
	}
	return &b
}

func mapInterest(a *applicant) lead.Interest {
	in := lead.Interest{
		Intent:   intent(a.MarketingMode),
		Message:  text(a.Notes),
		Currency: str(a.Currency),
		Areas:    ids(a.LocationOptions),
		Form:     sourceForm(a.Source),
	}
	if a.Buying != nil {
		in.Reason = str(a.Buying.ReasonID)
	}
	in.PriceMin, in.PriceMax = prices(a, in.Intent)
	if a.BedroomsMin != nil {
		if v := *a.BedroomsMin; v >= 1 && v <= 1000 && v == math.Trunc(v) {
			n := int(v)
			in.BedroomsMin = &n
		}
	}
	return in
}

// intent maps marketingMode. The swagger documents buying and renting; the
// rest are handled in case Reapit sends them (buyingAndRenting is a buyer
// first).
func intent(mode string) string {
	switch strings.ToLower(strings.TrimSpace(mode)) {
	case "buying", "buyingandrenting":
		return lead.IntentBuy
	case "renting":
		return lead.IntentRent
	case "selling", "sellingandletting":
		return lead.IntentSell
	case "letting":
		return lead.IntentLet
	}
	return lead.IntentOther
}

// prices takes the budget from renting when the intent is rent or let and
// from buying otherwise, falling back to the other block when the preferred one
// gives no price. Rents are per calendar month.
func prices(a *applicant, intent string) (lo, hi *float64) {
	buy := func() (*float64, *float64) {
		if a.Buying == nil {
			return nil, nil
		}
		return amount(a.Buying.PriceFrom, 1), amount(a.Buying.PriceTo, 1)
	}
	rent := func() (*float64, *float64) {
		if a.Renting == nil {
			return nil, nil
		}
		f := perMonth(a.Renting.RentFrequency)
		return amount(a.Renting.RentFrom, f), amount(a.Renting.RentTo, f)
	}
	order := []func() (*float64, *float64){buy, rent}
	if intent == lead.IntentRent || intent == lead.IntentLet {
		order = []func() (*float64, *float64){rent, buy}
	}
	for _, f := range order {
		if lo, hi = f(); lo != nil || hi != nil {
			return lo, hi
		}
	}
	return nil, nil
}

// perMonth is the factor turning a rent of the given frequency into a rent
// per calendar month; 1 for monthly and for a frequency not known.
func perMonth(freq string) float64 {
	switch strings.ToLower(strings.TrimSpace(freq)) {
	case "weekly":
		return 52.0 / 12
	case "annually", "yearly":
		return 1.0 / 12
	}
	return 1
}

// amount scales a budget bound; zero or negative (Reapit's "not set") and
// an amount that overflows are null. A scaled amount is rounded to pennies.
func amount(p *float64, factor float64) *float64 {
	if p == nil || *p <= 0 {
		return nil
	}
	v := *p
	if factor != 1 {
		v = math.Round(v*factor*100) / 100
	}
	if math.IsInf(v, 0) || math.IsNaN(v) || v <= 0 {
		return nil
	}
	return &v
}

// sourceForm is the applicant's source as "<type>:<id>" (e.g. "source:RMV"
// or "office:OXF"), the id alone when the type is missing.
func sourceForm(src *appSource) *string {
	if src == nil || str(src.ID) == nil {
		return nil
	}
	if str(src.Type) == nil {
		return str(src.ID)
	}
	return lead.Str(strings.TrimSpace(src.Type) + ":" + strings.TrimSpace(src.ID))
}

// str maps a one-line field (name, email, phone, id): trimmed, and null
// when nothing is left.
func str(s string) *string { return lead.Str(strings.TrimSpace(s)) }

// text maps free text verbatim, since its line breaks are the person's;
// only a blank one becomes null.
func text(s string) *string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return &s
}

// first returns the first non-blank value, trimmed.
func first(vals ...string) *string {
	for _, v := range vals {
		if p := str(v); p != nil {
			return p
		}
	}
	return nil
}

// join joins the trimmed, non-blank parts with sep, or returns null.
func join(sep string, parts ...string) *string {
	var out []string
	for _, p := range parts {
		if v := strings.TrimSpace(p); v != "" {
			out = append(out, v)
		}
	}
	return lead.Str(strings.Join(out, sep))
}

// ids returns the trimmed, non-blank ids in order; never nil.
func ids(in []string) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
