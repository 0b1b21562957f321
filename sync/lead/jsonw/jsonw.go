// Package jsonw writes JSON objects by hand into the exact bytes json.Marshal
// writes for the same values. Used where a hot path writes the same few
// structs over and over (every lead, every stored record): reflection-driven
// json.Marshal costs several times more. Each user holds its encoder to
// json.Marshal's output with a test.
package jsonw

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// Object appends one JSON object's members, and those of objects nested in
// it (Begin, End). Keys are written as given: they must need no escaping.
type Object struct {
	b     []byte
	n     int   // members written at the current level
	outer []int // n of the enclosing levels
}

// New starts an object in a buffer of the given capacity.
func New(capacity int) Object { return Object{b: append(make([]byte, 0, capacity), '{')} }

// Key writes a member's key; the value comes next.
func (o *Object) Key(k string) {
	if o.n > 0 {
		o.b = append(o.b, ',')
	}
	o.n++
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

// Begin opens a member k whose value is an object; End closes it.
func (o *Object) Begin(k string) {
	o.Key(k)
	o.b = append(o.b, '{')
	o.outer = append(o.outer, o.n)
	o.n = 0
}

// End closes the object Begin opened.
func (o *Object) End() {
	o.b = append(o.b, '}')
	o.n = o.outer[len(o.outer)-1]
	o.outer = o.outer[:len(o.outer)-1]
}

// Null writes k: null.
func (o *Object) Null(k string) {
	o.Key(k)
	o.b = append(o.b, "null"...)
}

// StrPtr writes a *string member: null when nil.
func (o *Object) StrPtr(k string, v *string) {
	if v == nil {
		o.Null(k)
		return
	}
	o.Str(k, *v)
}

// Bool writes a bool member.
func (o *Object) Bool(k string, v bool) {
	o.Key(k)
	o.b = strconv.AppendBool(o.b, v)
}

// BoolPtr writes a *bool member: null when nil.
func (o *Object) BoolPtr(k string, v *bool) {
	if v == nil {
		o.Null(k)
		return
	}
	o.Bool(k, *v)
}

// IntPtr writes a *int member: null when nil.
func (o *Object) IntPtr(k string, v *int) {
	if v == nil {
		o.Null(k)
		return
	}
	o.Int(k, int64(*v))
}

// Strs writes a []string member: null when nil, as json.Marshal does.
func (o *Object) Strs(k string, v []string) {
	if v == nil {
		o.Null(k)
		return
	}
	o.Key(k)
	o.b = append(o.b, '[')
	for i, s := range v {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = AppendString(o.b, s)
	}
	o.b = append(o.b, ']')
}

// Str writes a string member.
func (o *Object) Str(k, v string) {
	o.Key(k)
	o.b = AppendString(o.b, v)
}

// StrOmit is Str for an omitempty field.
func (o *Object) StrOmit(k, v string) {
	if v != "" {
		o.Str(k, v)
	}
}

// Int writes an integer member.
func (o *Object) Int(k string, v int64) {
	o.Key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

// IntOmit is Int for an omitempty field.
func (o *Object) IntOmit(k string, v int64) {
	if v != 0 {
		o.Int(k, v)
	}
}

// Bytes writes a []byte member: base64, as encoding/json writes it; nil is null.
func (o *Object) Bytes(k string, v []byte) {
	o.Key(k)
	if v == nil {
		o.b = append(o.b, "null"...)
		return
	}
	o.b = append(o.b, '"')
	o.b = base64.StdEncoding.AppendEncode(o.b, v)
	o.b = append(o.b, '"')
}

// BytesOmit is Bytes for an omitempty field.
func (o *Object) BytesOmit(k string, v []byte) {
	if len(v) > 0 {
		o.Bytes(k, v)
	}
}

// StrsOmit writes a []string member unless it is empty (omitempty).
func (o *Object) StrsOmit(k string, v []string) {
	if len(v) == 0 {
		return
	}
	o.Key(k)
	o.b = append(o.b, '[')
	for i, s := range v {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = AppendString(o.b, s)
	}
	o.b = append(o.b, ']')
}

// Raw adds a member whose value is JSON already (the lead).
func (o *Object) Raw(k string, v []byte) {
	o.Key(k)
	o.b = append(o.b, v...)
}

// Float64Ptr writes a *float64 member (null when nil) exactly as
// json.Marshal does; like it, it fails for NaN and infinities.
func (o *Object) Float64Ptr(k string, v *float64) error {
	if v == nil {
		o.Null(k)
		return nil
	}
	b, err := json.Marshal(*v)
	if err != nil {
		return err
	}
	o.Key(k)
	o.b = append(o.b, b...)
	return nil
}

// Time writes a time member in layout (which must need no escaping), or
// null for the zero time.
func (o *Object) Time(k string, t time.Time, layout string) {
	if t.IsZero() {
		o.Null(k)
		return
	}
	o.Key(k)
	o.b = append(o.b, '"')
	o.b = t.AppendFormat(o.b, layout)
	o.b = append(o.b, '"')
}

// StrKey writes a string member whose key may need escaping (a map's).
func (o *Object) StrKey(k, v string) {
	if o.n > 0 {
		o.b = append(o.b, ',')
	}
	o.n++
	o.b = AppendString(o.b, k)
	o.b = append(o.b, ':')
	o.b = AppendString(o.b, v)
}

// Done closes the object and returns its bytes.
func (o *Object) Done() []byte { return append(o.b, '}') }

const hexDigits = "0123456789abcdef"

// plain holds the bytes AppendString copies as they are: ASCII but for
// control characters, the quote, the backslash and HTML's <, > and &
// (which json.Marshal escapes).
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// AppendString appends s as a JSON string, escaped as json.Marshal escapes
// it: quotes, backslashes and control characters; <, > and & as \u00XX;
// U+2028 and U+2029; invalid UTF-8 as U+FFFD.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Runs of bytes that need no escaping (most of any text) in a
		// tight loop over a table; then one byte that might.
		for i < len(s) && plain[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
