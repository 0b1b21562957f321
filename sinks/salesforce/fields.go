package salesforce

// Lead fields as a mapping names them: the dotted paths of the lead JSON of
// SPEC.md ("person.email", "interest.listing.id"), each leaf as a string.
// Naming fields by the JSON the operator already sees (and that every sink
// is given) needs no second vocabulary, and new lead fields become
// mappable without a change here.
//
// The hubspot, pipedrive and salesforce packages hold this file alike (a
// test keeps the copies equal): sinks import only sinks and sync/lead, and
// it can move to sinks once a fourth sink wants it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sync/lead"
)

// leadFields returns the non-null leaves of d's lead by dotted path: strings
// as they are, numbers as written, booleans as true/false, arrays of strings
// joined with ", " (empty ones left out).
func leadFields(d sinks.Delivery) (map[string]string, error) {
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

// mapping turns lead fields into the properties of a CRM record.
type mapping struct {
	props  map[string]string // lead field → property
	consts map[string]string // property → fixed value
}

// newMapping overlays overrides on defaults (an empty property name drops a
// default) and adds consts. valid checks a property name. Errors name the
// config key at fault.
func newMapping(defaults, overrides, consts map[string]string, valid func(string) bool) (mapping, error) {
	m := mapping{props: map[string]string{}, consts: map[string]string{}}
	for f, p := range defaults {
		m.props[f] = p
	}
	for _, f := range sortedKeys(overrides) {
		p := overrides[f]
		if !knownFields()[f] {
			return mapping{}, fmt.Errorf("properties: %q: not a field of the lead JSON (e.g. person.email, interest.listing.id)", f)
		}
		if p == "" {
			delete(m.props, f)
			continue
		}
		m.props[f] = p
	}
	from := map[string]string{} // property → lead field
	for _, f := range sortedKeys(m.props) {
		p := m.props[f]
		if !valid(p) {
			return mapping{}, fmt.Errorf("properties: %s: %q is not a valid property name", f, p)
		}
		if other, dup := from[p]; dup {
			return mapping{}, fmt.Errorf("properties: %s and %s both map to %q; map one of them to \"\"", other, f, p)
		}
		from[p] = f
	}
	for _, p := range sortedKeys(consts) {
		v := consts[p]
		if !valid(p) {
			return mapping{}, fmt.Errorf("constants: %q is not a valid property name", p)
		}
		if f, dup := from[p]; dup {
			return mapping{}, fmt.Errorf("constants: %s: also mapped from lead field %s; map that to \"\" first", p, f)
		}
		m.consts[p] = v
	}
	return m, nil
}

// apply returns the properties for a lead's fields: the mapped ones the lead
// has a value for, then the constants.
func (m mapping) apply(fields map[string]string) map[string]string {
	out := make(map[string]string, len(m.props)+len(m.consts))
	for f, p := range m.props {
		if v, ok := fields[f]; ok {
			out[p] = v
		}
	}
	for p, v := range m.consts {
		out[p] = v
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
