package sinks

// Lead fields as a mapping names them: the dotted paths of the lead JSON of
// SPEC.md ("person.email", "interest.listing.id"), each leaf as a string.
// Naming fields by the JSON the operator already sees (and that every sink
// is given) needs no second vocabulary, and new lead fields become
// mappable without a change here. The CRM sinks (hubspot, pipedrive,
// salesforce) map leads to their records with LeadFields and a Mapping.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/leadsync/leadsync/sync/lead"
)

// LeadFields returns the non-null leaves of d's lead by dotted path
// ("person.address.city"): strings as they are, numbers as written,
// booleans as true/false, arrays of scalars joined with ", ". Empty values
// are left out. It reads d.Body, or d.Lead marshalled when Body is empty.
func LeadFields(d Delivery) (map[string]string, error) {
	body := d.Body
	if len(body) == 0 && d.Lead != nil {
		var err error
		if body, err = d.Lead.Marshal(); err != nil {
			return nil, fmt.Errorf("marshal lead: %w", err)
		}
	}
	if len(body) == 0 {
		return nil, errors.New("delivery has no lead")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode lead: %w", err)
	}
	out := map[string]string{}
	walk("", v, func(path string, leaf any) {
		if s, ok := scalar(leaf); ok && s != "" {
			out[path] = s
		}
	})
	return out, nil
}

// walk calls fn with every leaf under v: scalars, nulls and arrays.
func walk(path string, v any, fn func(path string, leaf any)) {
	obj, ok := v.(map[string]any)
	if !ok {
		fn(path, v)
		return
	}
	for k, child := range obj {
		if path != "" {
			k = path + "." + k
		}
		walk(k, child, fn)
	}
}

// scalar renders a leaf as text; ok is false for null and for arrays that
// hold anything but scalars.
func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := scalar(e)
			if !ok {
				return "", false
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ", "), true
	}
	return "", false
}

// knownFields is every path a mapping may name: the leaves of a lead whose
// optional objects are all present.
var knownFields = sync.OnceValue(func() map[string]bool {
	l := &lead.Lead{
		Person:     lead.Person{Address: &lead.Address{}},
		Interest:   lead.Interest{Listing: &lead.Listing{}},
		Assignment: lead.Assignment{Agent: &lead.Agent{}, Agency: &lead.Agency{}},
	}
	body, err := l.Marshal()
	if err != nil {
		panic(err) // a fixed lead always marshals
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		panic(err)
	}
	known := map[string]bool{}
	walk("", v, func(path string, _ any) { known[path] = true })
	return known
})

// Mapping turns the lead fields of LeadFields into the properties (fields,
// columns…) of a CRM record: some lead fields by name, and constants. The
// zero Mapping maps nothing; make one with NewMapping. A Mapping is not
// changed after NewMapping and is safe for concurrent use.
type Mapping struct {
	props  map[string]string // lead field → property
	consts map[string]string // property → fixed value
}

// NewMapping overlays overrides on defaults (both lead field → property; an
// empty property in overrides drops a default) and adds consts (property →
// value). Every lead field in overrides must be a leaf of the lead JSON,
// every property must pass valid, no two lead fields may map to one
// property, and no constant may also be mapped. Errors name the config key
// at fault ("properties: …", "constants: …"). defaults is not checked
// against the lead JSON; it is the sink's own.
func NewMapping(defaults, overrides, consts map[string]string, valid func(property string) bool) (Mapping, error) {
	m := Mapping{props: map[string]string{}, consts: map[string]string{}}
	maps.Copy(m.props, defaults)
	for _, f := range slices.Sorted(maps.Keys(overrides)) {
		p := overrides[f]
		if !knownFields()[f] {
			return Mapping{}, fmt.Errorf("properties: %q: not a field of the lead JSON (e.g. person.email, interest.listing.id)", f)
		}
		if p == "" {
			delete(m.props, f)
			continue
		}
		m.props[f] = p
	}
	from := map[string]string{} // property → lead field
	for _, f := range slices.Sorted(maps.Keys(m.props)) {
		p := m.props[f]
		if !valid(p) {
			return Mapping{}, fmt.Errorf("properties: %s: %q is not a valid property name", f, p)
		}
		if other, dup := from[p]; dup {
			return Mapping{}, fmt.Errorf("properties: %s and %s both map to %q; map one of them to \"\"", other, f, p)
		}
		from[p] = f
	}
	for _, p := range slices.Sorted(maps.Keys(consts)) {
		v := consts[p]
		if !valid(p) {
			return Mapping{}, fmt.Errorf("constants: %q is not a valid property name", p)
		}
		if f, dup := from[p]; dup {
			return Mapping{}, fmt.Errorf("constants: %s: also mapped from lead field %s; map that to \"\" first", p, f)
		}
		m.consts[p] = v
	}
	return m, nil
}

// Apply returns the properties for a lead's fields (as LeadFields gives
// them): the mapped ones the lead has a value for, and the constants.
func (m Mapping) Apply(fields map[string]string) map[string]string {
	out := make(map[string]string, len(m.props)+len(m.consts))
	for f, p := range m.props {
		if v, ok := fields[f]; ok {
			out[p] = v
		}
	}
	maps.Copy(out, m.consts)
	return out
}

// Properties returns a copy of what m maps: lead field → property.
func (m Mapping) Properties() map[string]string { return maps.Clone(m.props) }

// Constants returns a copy of m's constants: property → value.
func (m Mapping) Constants() map[string]string { return maps.Clone(m.consts) }

// WithoutConstants returns m without its constants, for a sink that checked
// them with NewMapping but sends them otherwise (typed, say).
func (m Mapping) WithoutConstants() Mapping {
	m.consts = nil
	return m
}
