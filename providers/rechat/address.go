package rechat

import (
	"encoding/json"
	"strings"

	"github.com/leadsync/leadsync/sync/lead"
)

// stdaddr is an address as Rechat stores it: PostgreSQL's stdaddr parts
// (house_num, predir, name, suftype, sufdir, unit, city, state, postcode,
// country) and, in newer models, line1, line2 and full.
type stdaddr struct {
	Line1      text  `json:"line1"`
	Line2      text  `json:"line2"`
	Full       text  `json:"full"`
	HouseNum   text  `json:"house_num"`
	Predir     text  `json:"predir"`
	Name       text  `json:"name"`
	Suftype    text  `json:"suftype"`
	Sufdir     text  `json:"sufdir"`
	Unit       text  `json:"unit"`
	City       text  `json:"city"`
	State      text  `json:"state"`
	Postcode   text  `json:"postcode"`
	PostalCode text  `json:"postal_code"`
	Zip        text  `json:"zip"`
	Country    text  `json:"country"`
	IsPrimary  *bool `json:"is_primary"`
}

// street is line1 and line2, else the stdaddr parts joined, else "".
func (a *stdaddr) street() string {
	if a.Line1 != "" {
		return deref(joinWith(", ", string(a.Line1), string(a.Line2)))
	}
	return deref(joinNonEmpty(string(a.HouseNum), string(a.Predir), string(a.Name),
		string(a.Suftype), string(a.Sufdir), string(a.Unit)))
}

func (a *stdaddr) postcode() string {
	return deref(firstOf(string(a.Postcode), string(a.PostalCode), string(a.Zip)))
}

// oneLine is the address as one line: full, else "street, city, state
// postcode", for a showing's description.
func (a *stdaddr) oneLine() string {
	if a.Full != "" {
		return string(a.Full)
	}
	return deref(joinWith(", ", a.street(), string(a.City), deref(joinNonEmpty(string(a.State), a.postcode())),
		string(a.Country)))
}

// addresses is a contact's address: null, one object, or an array of them.
// An entry that cannot be decoded is skipped.
type addresses []stdaddr

// UnmarshalJSON implements json.Unmarshaler.
func (as *addresses) UnmarshalJSON(b []byte) error {
	*as = nil
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		items = []json.RawMessage{b}
	}
	for _, it := range items {
		var a stdaddr
		if strings.HasPrefix(strings.TrimSpace(string(it)), "{") && json.Unmarshal(it, &a) == nil {
			*as = append(*as, a)
		}
	}
	return nil
}

// lead returns the primary address (else the first with anything in it) as
// the lead's address, or nil. Rechat's state has no place in the lead's
// address and is left out; the full line is the street when nothing finer
// is given.
func (as addresses) lead() *lead.Address {
	var pick *stdaddr
	for i := range as {
		a := &as[i]
		if a.oneLine() == "" {
			continue
		}
		if pick == nil || a.IsPrimary != nil && *a.IsPrimary {
			pick = a
		}
	}
	if pick == nil {
		return nil
	}
	street := pick.street()
	if street == "" && pick.City == "" {
		street = string(pick.Full)
	}
	addr := &lead.Address{
		Street:     strPtr(street),
		PostalCode: strPtr(pick.postcode()),
		City:       pick.City.ptr(),
		Country:    pick.Country.ptr(),
	}
	if addr.Street == nil && addr.PostalCode == nil && addr.City == nil && addr.Country == nil {
		return nil // only a state, say
	}
	return addr
}
