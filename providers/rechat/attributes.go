package rechat

import (
	"encoding/json"
	"strings"

	"github.com/leadsync/leadsync/sync/lead"
)

// A contact's attributes carry what its summary fields may not: notes, every
// email and phone, tags, address parts. In a webhook they come in Rechat's
// "references" format: the contact lists attribute ids, and the payload's
// references hold each contact_attribute (with the id of its
// contact_attribute_def, whose name says what it is). Attributes are an
// auxiliary source, read leniently: one that cannot be decoded or resolved
// is skipped, never a reason to lose the contact.

// attrRef is one entry of a contact's attributes: an id into the
// references, or the attribute itself when populated.
type attrRef struct {
	id  string
	obj *attribute
}

// UnmarshalJSON implements json.Unmarshaler. It never fails: what is not an
// id or an attribute object is an empty reference.
func (a *attrRef) UnmarshalJSON(b []byte) error {
	*a = attrRef{}
	v, err := decodeAny(b)
	if err != nil {
		return nil
	}
	switch v.(type) {
	case string, json.Number:
		a.id = scalarOrField(v)
	case map[string]any:
		var at attribute
		if json.Unmarshal(b, &at) == nil {
			a.obj = &at
		}
	}
	return nil
}

// attribute is a contact_attribute. attribute_type is the older form of the
// definition's name; attribute_def is the definition's id or object.
type attribute struct {
	AttributeType text            `json:"attribute_type"`
	AttributeDef  json.RawMessage `json:"attribute_def"`
	Text          text            `json:"text"`
	IsPrimary     *bool           `json:"is_primary"`
	IsPartner     *bool           `json:"is_partner"`
	Index         text            `json:"index"`
}

// references are the payload's referenced models, by type and id, kept raw
// until a contact asks for one.
type references struct {
	attrs, defs map[string]json.RawMessage
}

func newReferences(raw json.RawMessage) references {
	var all map[string]map[string]json.RawMessage
	_ = json.Unmarshal(raw, &all) // absent or malformed references resolve nothing
	return references{attrs: all["contact_attribute"], defs: all["contact_attribute_def"]}
}

// attrValue is one resolved attribute.
type attrValue struct {
	name, text, index string
	primary           bool
}

// attributes are a contact's resolved attributes, in the contact's order.
type attributes []attrValue

// attributes resolves c's attributes, leaving out the partner's (a
// contact's spouse or partner is not the person asking).
func (r references) attributes(c *contact) attributes {
	var out attributes
	for _, ar := range c.Attributes {
		at := ar.obj
		if at == nil && ar.id != "" {
			var v attribute
			if raw, ok := r.attrs[ar.id]; ok && json.Unmarshal(raw, &v) == nil {
				at = &v
			}
		}
		if at == nil || at.IsPartner != nil && *at.IsPartner || at.Text == "" {
			continue
		}
		if name := r.defName(at); name != "" {
			out = append(out, attrValue{name: name, text: string(at.Text), index: string(at.Index),
				primary: at.IsPrimary != nil && *at.IsPrimary})
		}
	}
	return out
}

// defName is the attribute's kind: attribute_type, else the name of its
// definition (inline, or looked up in the references).
func (r references) defName(at *attribute) string {
	if at.AttributeType != "" {
		return strings.ToLower(string(at.AttributeType))
	}
	var def struct {
		Name text `json:"name"`
	}
	if json.Unmarshal(at.AttributeDef, &def) != nil || def.Name == "" {
		var id text
		if json.Unmarshal(at.AttributeDef, &id) != nil {
			return ""
		}
		if json.Unmarshal(r.defs[string(id)], &def) != nil {
			return ""
		}
	}
	return strings.ToLower(string(def.Name))
}

// first returns the primary value of name, else the first, else "".
func (as attributes) first(name string) string {
	var out string
	for _, a := range as {
		if a.name != name {
			continue
		}
		if a.primary {
			return a.text
		}
		if out == "" {
			out = a.text
		}
	}
	return out
}

// all returns every value of name.
func (as attributes) all(name string) []string {
	var out []string
	for _, a := range as {
		if a.name == name {
			out = append(out, a.text)
		}
	}
	return out
}

// addressParts are the attribute names of an address; the attributes of one
// address share an index.
var addressParts = map[string]bool{
	"street_number": true, "street_prefix": true, "street_name": true, "street_suffix": true,
	"unit_number": true, "city": true, "state": true, "postal_code": true, "country": true,
}

// address assembles the address whose parts carry the primary flag (else
// the first address seen) from its attributes, or nil.
func (as attributes) address() *lead.Address {
	index, found := "", false
	for _, a := range as {
		if addressParts[a.name] && (!found || a.primary) {
			index, found = a.index, true
			if a.primary {
				break
			}
		}
	}
	if !found {
		return nil
	}
	var one attributes
	for _, a := range as {
		if addressParts[a.name] && a.index == index {
			one = append(one, a)
		}
	}
	addr := &lead.Address{
		Street: joinNonEmpty(one.first("street_number"), one.first("street_prefix"), one.first("street_name"),
			one.first("street_suffix"), one.first("unit_number")),
		PostalCode: strPtr(one.first("postal_code")),
		City:       strPtr(one.first("city")),
		Country:    strPtr(one.first("country")),
	}
	if addr.Street == nil && addr.PostalCode == nil && addr.City == nil && addr.Country == nil {
		return nil
	}
	return addr
}
