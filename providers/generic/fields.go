package generic

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/leadsync/leadsync/sync/lead"
)

// kind is how a field's JSON value is converted.
type kind int

const (
	kindString  kind = iota // string or number → trimmed one-line string
	kindText                // string or number → verbatim text (blank = null)
	kindLower               // as kindString, lowercased (an enum)
	kindFloat               // number or numeric string
	kindInt                 // integer or integral string
	kindBool                // boolean, "true"/"false"/"yes"/"no", 1/0
	kindStrings             // array of strings/numbers, or one string
	kindIntent              // a word mapped onto lead intents
	kindAction              // a word mapped onto created/updated/deleted
)

// fieldTable lists every lead field a generic source can fill, in the order
// FieldNames gives them, with how its value is converted.
var fieldTable = []struct {
	name string
	kind kind
}{
	// person
	{"first_name", kindString}, {"last_name", kindString}, {"full_name", kindString},
	{"email", kindString}, {"phone", kindString},
	{"street", kindString}, {"postal_code", kindString}, {"city", kindString}, {"country", kindString},
	{"preferred_contact", kindLower}, {"marketing_consent", kindBool},
	// interest
	{"intent", kindIntent}, {"reason", kindString}, {"message", kindText},
	{"listing_id", kindString}, {"listing_external_id", kindString},
	{"price_min", kindFloat}, {"price_max", kindFloat}, {"bedrooms_min", kindInt},
	{"currency", kindString}, {"areas", kindStrings}, {"preapproved_mortgage", kindBool}, {"form", kindString},
	// assignment
	{"agent_id", kindString}, {"agent_name", kindString}, {"agent_email", kindString},
	{"agency_id", kindString}, {"agency_external_id", kindString},
	{"office_ids", kindStrings}, {"negotiator_ids", kindStrings},
	// source and identity
	{"action", kindAction}, {"entity", kindString}, {"entity_id", kindString},
	{"customer_id", kindString}, {"test", kindBool},
}

// FieldNames are the names a generic source's `fields:` may map, so that the
// config layer can reject a misspelt one. See the package doc for what each
// fills in.
var FieldNames = func() []string {
	out := make([]string, len(fieldTable))
	for i, f := range fieldTable {
		out[i] = f.name
	}
	return out
}()

func fieldKind(name string) (kind, bool) {
	for _, f := range fieldTable {
		if f.name == name {
			return f.kind, true
		}
	}
	return 0, false
}

// value is a converted field value: exactly one member is meaningful,
// according to the field's kind; all are zero when the field is absent or
// null.
type value struct {
	s    *string
	f    *float64
	i    *int
	b    *bool
	list []string
}

// convert turns v (as decodeJSON yields it) into a value of kind k. A
// missing or null v is the zero value. Errors describe the type or form
// only, never the content, because they end up in logs and the content is
// personal data.
func convert(k kind, v any) (value, error) {
	if v == nil {
		return value{}, nil
	}
	switch k {
	case kindString, kindText, kindLower:
		s, err := scalarText(v)
		if err != nil {
			return value{}, err
		}
		switch k {
		case kindText:
			if strings.TrimSpace(s) == "" {
				return value{}, nil
			}
			return value{s: &s}, nil
		case kindLower:
			s = strings.ToLower(s)
		}
		return value{s: lead.Str(strings.TrimSpace(s))}, nil
	case kindFloat:
		f, err := toFloat(v)
		return value{f: f}, err
	case kindInt:
		i, err := toInt(v)
		return value{i: i}, err
	case kindBool:
		b, err := toBool(v)
		return value{b: b}, err
	case kindStrings:
		l, err := toStrings(v)
		return value{list: l}, err
	case kindIntent:
		s, err := scalarText(v)
		if err != nil {
			return value{}, err
		}
		if s = strings.TrimSpace(s); s == "" {
			return value{}, nil
		}
		in := intent(s)
		return value{s: &in}, nil
	case kindAction:
		s, err := scalarText(v)
		if err != nil {
			return value{}, err
		}
		if s = strings.TrimSpace(s); s == "" {
			return value{}, nil
		}
		a, err := action(s)
		return value{s: lead.Str(a)}, err
	}
	return value{}, fmt.Errorf("unknown field kind %d", k)
}

// scalarText returns a string as is and a number as its literal text (an id
// 12345678 stays "12345678", never 1.2345678e+07).
func scalarText(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case float64: // a caller that decoded without UseNumber
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("want a string or a number, got %s", typeName(v))
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	}
	return "a number"
}

func toFloat(v any) (*float64, error) {
	s, err := scalarText(v)
	if err != nil {
		return nil, err
	}
	if s = strings.TrimSpace(s); s == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errors.New("want a finite number")
	}
	return &f, nil
}

func toInt(v any) (*int, error) {
	f, err := toFloat(v)
	if err != nil || f == nil {
		return nil, err
	}
	// Integral values only, and within what every JSON reader keeps exact.
	if *f != math.Trunc(*f) || math.Abs(*f) > 1<<53 {
		return nil, errors.New("want an integer")
	}
	i := int(*f)
	return &i, nil
}

func toBool(v any) (*bool, error) {
	t, f := true, false
	switch v := v.(type) {
	case bool:
		return &v, nil
	case json.Number, string, float64:
		s, _ := scalarText(v)
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "yes", "y", "1", "on":
			return &t, nil
		case "false", "no", "n", "0", "off":
			return &f, nil
		case "":
			return nil, nil
		}
		return nil, errors.New("want a boolean")
	}
	return nil, fmt.Errorf("want a boolean, got %s", typeName(v))
}

// toStrings accepts an array of strings or numbers (empty ones dropped) or
// a single string, which becomes a one-element list.
func toStrings(v any) ([]string, error) {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	var out []string
	for i, it := range items {
		if it == nil {
			continue
		}
		s, err := scalarText(it)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}
