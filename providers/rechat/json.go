package rechat

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Rechat's JSON is produced by its ORM, and the same attribute can be a
// string in one object and a number in another, or an id in one payload and
// a populated object in the next. These types accept every shape seen and
// reduce it to what the mapping needs.

// decodeAny decodes b with numbers kept as their literal text.
func decodeAny(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// text is a string, or a number kept as its literal text (ids are copied
// digit for digit). Null or absent is "". It is trimmed.
type text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *text) UnmarshalJSON(b []byte) error {
	v, err := decodeAny(b)
	if err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*t = ""
	case string:
		*t = text(strings.TrimSpace(v))
	case json.Number:
		*t = text(v.String())
	default:
		return errors.New("want a string or a number")
	}
	return nil
}

func (t text) ptr() *string { return strPtr(string(t)) }

// strPtr returns nil for "", else a pointer to s.
func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// texts is a list of strings: an array of strings or numbers, or of objects
// carrying one under a known key (text, email, phone_number, tag, value),
// or a single string. Null, empty and unrecognised entries are dropped.
type texts []string

// UnmarshalJSON implements json.Unmarshaler.
func (t *texts) UnmarshalJSON(b []byte) error {
	v, err := decodeAny(b)
	if err != nil {
		return err
	}
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	*t = nil
	for _, it := range items {
		if s := scalarOrField(it); s != "" {
			*t = append(*t, s)
		}
	}
	return nil
}

func scalarOrField(v any) string {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	case map[string]any:
		for _, k := range []string{"text", "email", "phone_number", "tag", "value"} {
			if s := scalarOrField(v[k]); s != "" {
				if _, nested := v[k].(map[string]any); !nested {
					return s
				}
			}
		}
	}
	return ""
}

// epoch is a point in time as Rechat writes it: Unix seconds with a
// fraction (1712918356.462, its model timestamps), or RFC 3339 text, or a
// string of either. raw keeps the literal, for keys.
type epoch struct {
	t   time.Time
	raw string
}

// UnmarshalJSON implements json.Unmarshaler. An unparsable value is an
// error; null is the zero epoch.
func (e *epoch) UnmarshalJSON(b []byte) error {
	var t text
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	if t == "" {
		*e = epoch{}
		return nil
	}
	v, ok := parseTime(string(t))
	if !ok {
		return errors.New("want Unix seconds or an RFC 3339 time from 1970 to 9999")
	}
	*e = epoch{t: v, raw: string(t)}
	return nil
}

// Bounds of the times accepted, so that each formats as an RFC 3339 date
// (lead.Time) and arithmetic on it cannot overflow.
var maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)

// parseTime parses RFC 3339 text or decimal Unix seconds (a fraction kept to
// the microsecond, parsed as text so that 0.1 is not 0.0999…).
func parseTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, !t.Before(time.Unix(0, 0)) && !t.After(maxTime)
	}
	whole, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || sec < 0 || sec > maxTime.Unix() || !digits(frac) {
		return time.Time{}, false
	}
	frac = (frac + "000000000")[:9]
	ns, _ := strconv.ParseInt(frac, 10, 64)
	return time.Unix(sec, ns).Truncate(time.Microsecond), true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseMillis parses the envelope's timestamp: Unix milliseconds (Rechat's
// Date.now()), possibly with a fraction.
func parseMillis(n json.Number) (time.Time, bool) {
	whole, frac, _ := strings.Cut(n.String(), ".")
	ms, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || ms < 0 || ms > maxTime.UnixMilli() || !digits(frac) {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// ref is a reference to another model: its id as a string or number, or
// the populated object (id and, for users, a name and an email).
type ref struct {
	ID, Name, Email string
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *ref) UnmarshalJSON(b []byte) error {
	v, err := decodeAny(b)
	if err != nil {
		return err
	}
	*r = ref{}
	switch v := v.(type) {
	case nil:
	case string, json.Number:
		r.ID = scalarOrField(v)
	case map[string]any:
		r.ID = scalarOrField(v["id"])
		r.Email = scalarOrField(v["email"])
		r.Name = scalarOrField(v["display_name"])
		if r.Name == "" {
			r.Name = strings.TrimSpace(scalarOrField(v["first_name"]) + " " + scalarOrField(v["last_name"]))
		}
	default:
		return errors.New("want an id or an object")
	}
	return nil
}
