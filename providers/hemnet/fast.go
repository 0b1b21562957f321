package hemnet

import (
	"strings"
	"unicode/utf8"
)

// decodeContactCreate reads the common body, a well-formed CONTACT/CREATE,
// in one pass over its bytes: no tokenizer objects, no reflection, and every
// string that holds no escape is a slice of one copy of the body, so that
// decoding a contact allocates that copy, the contact, and the strings that
// had escapes. It was the largest cost of intake after the HTTP server.
//
// It answers only for bodies it reads exactly as encoding/json would; for
// anything else — a type or action other than CONTACT/CREATE, a value of an
// unexpected kind, a key that differs from a known one only in case (which
// encoding/json matches), a duplicate known key (encoding/json merges or
// overwrites), invalid UTF-8 or an escaped surrogate that is not a pair
// (both of which encoding/json replaces with U+FFFD), nesting deeper than
// maxDepth, a syntax error — it reports false, and Parse decodes the body
// with encoding/json, whose answer (and error) stands.
// FuzzFastDecodeMatchesEncodingJSON holds the two to the same result.
func decodeContactCreate(body []byte) (*contact, bool) {
	d := decoder{s: string(body)}
	c, ok := d.envelope()
	if !ok {
		return nil, false
	}
	d.ws()
	if d.i != len(d.s) { // nothing but white space may follow the object
		return nil, false
	}
	return c, true
}

// maxDepth bounds the nesting of values the decoder skips; deeper bodies go
// to encoding/json.
const maxDepth = 64

type decoder struct {
	s string
	i int
}

// fastContact holds a contact and everything its pointers point at, so that
// a decoded contact is one allocation.
type fastContact struct {
	c    contact
	strs [16]string
	pm   bool
	l    listing
	b    broker
	ba   brokerAgency
	n    int // strs used
}

func (f *fastContact) str(s string) *string {
	if f.n == len(f.strs) { // more string fields than slots (not today: 14): one of its own
		// (new, not &s: taking s's address would move s to the heap on
		// every call, an allocation per string field)
		p := new(string)
		*p = s
		return p
	}
	f.strs[f.n] = s
	f.n++
	return &f.strs[f.n-1]
}

var envelopeKeys = []string{"type", "action", "data"}

var contactKeys = []string{"id", "recipientType", "email", "phone", "firstName", "lastName", "message",
	"listing", "broker", "brokerAgency", "contactPreference", "contactReason", "streetName",
	"streetNumber", "postalCity", "preapprovedMortgage", "source"}

var idPairKeys = []string{"id", "externalId"}

var brokerKeys = []string{"id", "email", "fullName"}

func (d *decoder) envelope() (*contact, bool) {
	var typ, action string
	var f *fastContact
	ok := d.object(1, envelopeKeys, func(k int) bool {
		switch k {
		case 0:
			return d.plainString(&typ)
		case 1:
			return d.plainString(&action)
		default: // data
			if d.peek() != '{' {
				return false
			}
			f = new(fastContact)
			return d.contact(f)
		}
	})
	if !ok || typ != typeContact || action != actionCreate || f == nil || f.c.ID == "" {
		return nil, false
	}
	return &f.c, true
}

func (d *decoder) contact(f *fastContact) bool {
	c := &f.c
	return d.object(2, contactKeys, func(k int) bool {
		switch contactKeys[k] {
		case "id":
			return d.id(&c.ID)
		case "recipientType":
			return d.str(f, &c.RecipientType)
		case "email":
			return d.str(f, &c.Email)
		case "phone":
			return d.str(f, &c.Phone)
		case "firstName":
			return d.str(f, &c.FirstName)
		case "lastName":
			return d.str(f, &c.LastName)
		case "message":
			return d.str(f, &c.Message)
		case "listing":
			return d.nullable(func() bool {
				c.Listing = &f.l
				return d.idPair(&c.Listing.ID, &c.Listing.ExternalID)
			}, func() { c.Listing = nil })
		case "broker":
			return d.nullable(func() bool {
				c.Broker = &f.b
				return d.broker(f, c.Broker)
			}, func() { c.Broker = nil })
		case "brokerAgency":
			return d.nullable(func() bool {
				c.BrokerAgency = &f.ba
				return d.idPair(&c.BrokerAgency.ID, &c.BrokerAgency.ExternalID)
			}, func() { c.BrokerAgency = nil })
		case "contactPreference":
			return d.str(f, &c.ContactPreference)
		case "contactReason":
			return d.str(f, &c.ContactReason)
		case "streetName":
			return d.str(f, &c.StreetName)
		case "streetNumber":
			return d.str(f, &c.StreetNumber)
		case "postalCity":
			return d.str(f, &c.PostalCity)
		case "preapprovedMortgage":
			return d.boolean(f, &c.PreapprovedMortgage)
		default: // source
			return d.str(f, &c.Source)
		}
	})
}

func (d *decoder) idPair(id, ext *idString) bool {
	return d.object(3, idPairKeys, func(k int) bool {
		if k == 0 {
			return d.id(id)
		}
		return d.id(ext)
	})
}

func (d *decoder) broker(f *fastContact, b *broker) bool {
	return d.object(3, brokerKeys, func(k int) bool {
		switch k {
		case 0:
			return d.id(&b.ID)
		case 1:
			return d.str(f, &b.Email)
		default:
			return d.str(f, &b.FullName)
		}
	})
}

// object reads an object whose known keys (exact case; at most 32) are
// handled by field, called with the key's index in known; other keys'
// values are skipped. A key seen twice, or one that matches a known key but
// for case (which encoding/json would decode into it), declines the body.
func (d *decoder) object(depth int, known []string, field func(k int) bool) bool {
	if depth > maxDepth {
		return false
	}
	d.ws()
	if d.peek() != '{' {
		return false
	}
	d.i++
	d.ws()
	if d.peek() == '}' {
		d.i++
		return true
	}
	var seen uint32
	for {
		d.ws()
		key, ok := d.string()
		if !ok {
			return false
		}
		d.ws()
		if d.peek() != ':' {
			return false
		}
		d.i++
		d.ws()
		k, exact := matchKey(key, known)
		switch {
		case exact:
			if seen&(1<<k) != 0 {
				return false
			}
			seen |= 1 << k
			if !field(k) {
				return false
			}
		case k >= 0:
			return false // a case variant of a known key
		default:
			if !d.skip(depth + 1) {
				return false
			}
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

// matchKey returns the index of k in known and true, or the index of a
// known key equal to k but for case and false, or -1.
func matchKey(k string, known []string) (int, bool) {
	for i, n := range known {
		if k == n {
			return i, true
		}
	}
	for i, n := range known {
		if strings.EqualFold(k, n) {
			return i, false
		}
	}
	return -1, false
}

func (d *decoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek is the next byte, or 0 at the end.
func (d *decoder) peek() byte {
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

// literal consumes lit (true, false, null) if it comes next.
func (d *decoder) literal(lit string) bool {
	if strings.HasPrefix(d.s[d.i:], lit) {
		d.i += len(lit)
		return true
	}
	return false
}

// nullable reads null (calling null) or an object (calling obj).
func (d *decoder) nullable(obj func() bool, null func()) bool {
	switch d.peek() {
	case 'n':
		if !d.literal("null") {
			return false
		}
		null()
		return true
	case '{':
		return obj()
	}
	return false
}

// str reads a string or null into a *string field, as encoding/json does.
func (d *decoder) str(f *fastContact, p **string) bool {
	switch d.peek() {
	case '"':
		s, ok := d.string()
		if ok {
			*p = f.str(s)
		}
		return ok
	case 'n':
		*p = nil
		return d.literal("null")
	}
	return false
}

// plainString reads a string into a string field (null leaves it as is).
func (d *decoder) plainString(p *string) bool {
	switch d.peek() {
	case '"':
		s, ok := d.string()
		if ok {
			*p = s
		}
		return ok
	case 'n':
		return d.literal("null")
	}
	return false
}

func (d *decoder) boolean(f *fastContact, p **bool) bool {
	switch {
	case d.literal("true"):
		f.pm = true
		*p = &f.pm
	case d.literal("false"):
		f.pm = false
		*p = &f.pm
	case d.literal("null"):
		*p = nil
	default:
		return false
	}
	return true
}

// id reads what idString.UnmarshalJSON reads: a string, a number (its
// literal text) or null.
func (d *decoder) id(p *idString) bool {
	switch c := d.peek(); {
	case c == '"':
		s, ok := d.string()
		*p = idString(s)
		return ok
	case c == '-' || c >= '0' && c <= '9':
		start := d.i
		if !d.number() {
			return false
		}
		*p = idString(d.s[start:d.i])
		return true
	case c == 'n':
		*p = ""
		return d.literal("null")
	}
	return false
}

// plainASCII holds the bytes a string may hold as they are and that need
// no further look: ASCII but for control characters, the quote and the
// backslash.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// string reads a JSON string. Without escapes it is a slice of the body;
// with them, a new string. Invalid UTF-8, a control character or an escaped
// surrogate that is not half of a pair declines.
func (d *decoder) string() (string, bool) {
	if d.peek() != '"' {
		return "", false
	}
	d.i++
	start := d.i
	for d.i < len(d.s) {
		for d.i < len(d.s) && plainASCII[d.s[d.i]] {
			d.i++
		}
		if d.i == len(d.s) {
			break
		}
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return d.s[start : d.i-1], true
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			d.i += size
		}
	}
	return "", false
}

// escaped finishes a string that started at start (after its quote) and has
// an escape at d.i.
func (d *decoder) escaped(start int) (string, bool) {
	// Room for the string as sent (its unescaped form is never longer):
	// find where it ends, stepping over escapes.
	end := d.i
	for end < len(d.s) && d.s[end] != '"' {
		if d.s[end] == '\\' {
			end++
		}
		end++
	}
	var b strings.Builder
	b.Grow(min(end, len(d.s)) - start)
	b.WriteString(d.s[start:d.i])
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return b.String(), true
		case c == '\\':
			if d.i+1 >= len(d.s) {
				return "", false
			}
			e := d.s[d.i+1]
			d.i += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return "", false
				}
				if r >= 0xd800 && r < 0xe000 { // a surrogate: only a high one followed by a low one
					if r >= 0xdc00 || !strings.HasPrefix(d.s[d.i:], `\u`) {
						return "", false
					}
					d.i += 2
					lo, ok := d.hex4()
					if !ok || lo < 0xdc00 || lo >= 0xe000 {
						return "", false
					}
					r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
				}
				b.WriteRune(r)
			default:
				return "", false
			}
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			// A run of plain ASCII up to the next byte that needs a look.
			j := d.i + 1
			for j < len(d.s) && plainASCII[d.s[j]] {
				j++
			}
			b.WriteString(d.s[d.i:j])
			d.i = j
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			b.WriteString(d.s[d.i : d.i+size])
			d.i += size
		}
	}
	return "", false
}

func (d *decoder) hex4() (rune, bool) {
	if d.i+4 > len(d.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(d.s[d.i : d.i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.i += 4
	return r, true
}

// number reads a number as JSON's grammar defines it:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() bool {
	if d.peek() == '-' {
		d.i++
	}
	switch c := d.peek(); {
	case c == '0':
		d.i++
	case c >= '1' && c <= '9':
		d.digits()
	default:
		return false
	}
	if d.peek() == '.' {
		d.i++
		if !d.digits() {
			return false
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.i++
		if c := d.peek(); c == '+' || c == '-' {
			d.i++
		}
		if !d.digits() {
			return false
		}
	}
	return true
}

// digits reads one or more decimal digits.
func (d *decoder) digits() bool {
	start := d.i
	for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}

// skip reads one value of any kind, checking its syntax, at nesting depth
// depth.
func (d *decoder) skip(depth int) bool {
	switch c := d.peek(); {
	case c == '"':
		_, ok := d.string()
		return ok
	case c == '{':
		return d.object(depth, nil, nil)
	case c == '[':
		if depth > maxDepth {
			return false
		}
		d.i++
		d.ws()
		if d.peek() == ']' {
			d.i++
			return true
		}
		for {
			d.ws()
			if !d.skip(depth + 1) {
				return false
			}
			d.ws()
			switch d.peek() {
			case ',':
				d.i++
			case ']':
				d.i++
				return true
			default:
				return false
			}
		}
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return false
}
