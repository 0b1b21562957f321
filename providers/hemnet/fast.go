package hemnet

import (
	"bytes"
	"io"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// decodeContactCreate reads the common body, a well-formed CONTACT/CREATE,
// in one pass of a streaming tokenizer (jsontext, the tokenizer of Go's
// coming encoding/json/v2): a third of the cost of encoding/json, which
// decodes through reflection after a validating pre-pass, and was the
// largest cost of intake after the HTTP server itself.
//
// It answers only for bodies it reads exactly as encoding/json would; for
// anything else — a type or action other than CONTACT/CREATE, a value of an
// unexpected kind, a key that differs from a known one only in case (which
// encoding/json matches), a duplicate key, invalid UTF-8, a syntax error —
// it reports false, and Parse decodes the body with encoding/json, whose
// answer (and error) stands. FuzzFastDecodeMatchesEncodingJSON holds the two
// to the same result.
func decodeContactCreate(body []byte) (*contact, bool) {
	d := decoders.Get().(*decoder)
	defer decoders.Put(d)
	d.r.Reset(body)
	d.dec.Reset(&d.r)
	c, ok := d.envelope()
	d.r.Reset(nil)
	d.dec.Reset(&d.r)
	return c, ok
}

type decoder struct {
	r   bytes.Reader
	dec jsontext.Decoder
}

var decoders = sync.Pool{New: func() any { return new(decoder) }}

var envelopeKeys = []string{"type", "action", "data"}

var contactKeys = []string{"id", "recipientType", "email", "phone", "firstName", "lastName", "message",
	"listing", "broker", "brokerAgency", "contactPreference", "contactReason", "streetName",
	"streetNumber", "postalCity", "preapprovedMortgage", "source"}

var idPairKeys = []string{"id", "externalId"}

var brokerKeys = []string{"id", "email", "fullName"}

func (d *decoder) envelope() (*contact, bool) {
	var typ, action string
	var c *contact
	ok := d.object(envelopeKeys, func(k string) bool {
		switch k {
		case "type":
			return d.plainString(&typ)
		case "action":
			return d.plainString(&action)
		default: // data
			if d.dec.PeekKind() != '{' {
				return false
			}
			c = new(contact)
			return d.contact(c)
		}
	})
	if !ok || typ != typeContact || action != actionCreate || c == nil || c.ID == "" {
		return nil, false
	}
	// Nothing but white space may follow the object.
	if _, err := d.dec.ReadToken(); err != io.EOF {
		return nil, false
	}
	return c, true
}

func (d *decoder) contact(c *contact) bool {
	return d.object(contactKeys, func(k string) bool {
		switch k {
		case "id":
			return d.id(&c.ID)
		case "recipientType":
			return d.str(&c.RecipientType)
		case "email":
			return d.str(&c.Email)
		case "phone":
			return d.str(&c.Phone)
		case "firstName":
			return d.str(&c.FirstName)
		case "lastName":
			return d.str(&c.LastName)
		case "message":
			return d.str(&c.Message)
		case "listing":
			return d.nullable(func() bool {
				c.Listing = new(listing)
				return d.idPair(&c.Listing.ID, &c.Listing.ExternalID)
			}, func() { c.Listing = nil })
		case "broker":
			return d.nullable(func() bool {
				c.Broker = new(broker)
				return d.broker(c.Broker)
			}, func() { c.Broker = nil })
		case "brokerAgency":
			return d.nullable(func() bool {
				c.BrokerAgency = new(brokerAgency)
				return d.idPair(&c.BrokerAgency.ID, &c.BrokerAgency.ExternalID)
			}, func() { c.BrokerAgency = nil })
		case "contactPreference":
			return d.str(&c.ContactPreference)
		case "contactReason":
			return d.str(&c.ContactReason)
		case "streetName":
			return d.str(&c.StreetName)
		case "streetNumber":
			return d.str(&c.StreetNumber)
		case "postalCity":
			return d.str(&c.PostalCity)
		case "preapprovedMortgage":
			return d.boolean(&c.PreapprovedMortgage)
		default: // source
			return d.str(&c.Source)
		}
	})
}

func (d *decoder) idPair(id, ext *idString) bool {
	return d.object(idPairKeys, func(k string) bool {
		if k == "id" {
			return d.id(id)
		}
		return d.id(ext)
	})
}

func (d *decoder) broker(b *broker) bool {
	return d.object(brokerKeys, func(k string) bool {
		switch k {
		case "id":
			return d.id(&b.ID)
		case "email":
			return d.str(&b.Email)
		default:
			return d.str(&b.FullName)
		}
	})
}

// object reads an object whose known keys (exact case) are handled by
// field; other keys' values are skipped, unless they match a known key
// but for case, which encoding/json would decode into it.
func (d *decoder) object(known []string, field func(key string) bool) bool {
	if tok, err := d.dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return false
	}
	for d.dec.PeekKind() != '}' {
		tok, err := d.dec.ReadToken()
		if err != nil || tok.Kind() != '"' {
			return false
		}
		k, exact := matchKey(tok.String(), known)
		switch {
		case exact:
			if !field(k) {
				return false
			}
		case k != "":
			return false // a case variant of a known key
		default:
			if d.dec.SkipValue() != nil {
				return false
			}
		}
	}
	_, err := d.dec.ReadToken()
	return err == nil
}

func matchKey(k string, known []string) (string, bool) {
	for _, n := range known {
		if k == n {
			return n, true
		}
	}
	for _, n := range known {
		if strings.EqualFold(k, n) {
			return n, false
		}
	}
	return "", false
}

// nullable reads null (calling null) or an object (calling obj).
func (d *decoder) nullable(obj func() bool, null func()) bool {
	switch d.dec.PeekKind() {
	case 'n':
		if _, err := d.dec.ReadToken(); err != nil {
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
func (d *decoder) str(p **string) bool {
	tok, err := d.dec.ReadToken()
	if err != nil {
		return false
	}
	switch tok.Kind() {
	case '"':
		s := tok.String()
		*p = &s
		return true
	case 'n':
		*p = nil
		return true
	}
	return false
}

// plainString reads a string into a string field (null leaves it as is).
func (d *decoder) plainString(p *string) bool {
	tok, err := d.dec.ReadToken()
	if err != nil {
		return false
	}
	switch tok.Kind() {
	case '"':
		*p = tok.String()
		return true
	case 'n':
		return true
	}
	return false
}

func (d *decoder) boolean(p **bool) bool {
	tok, err := d.dec.ReadToken()
	if err != nil {
		return false
	}
	switch tok.Kind() {
	case 't', 'f':
		b := tok.Bool()
		*p = &b
		return true
	case 'n':
		*p = nil
		return true
	}
	return false
}

// id reads what idString.UnmarshalJSON reads: a string, a number (its
// literal text) or null.
func (d *decoder) id(p *idString) bool {
	switch d.dec.PeekKind() {
	case '"':
		tok, err := d.dec.ReadToken()
		if err != nil {
			return false
		}
		*p = idString(tok.String())
		return true
	case '0':
		v, err := d.dec.ReadValue()
		if err != nil {
			return false
		}
		*p = idString(v)
		return true
	case 'n':
		if _, err := d.dec.ReadToken(); err != nil {
			return false
		}
		*p = ""
		return true
	}
	return false
}
