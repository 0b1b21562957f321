package generic

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Helpers to play the sender: `leadsync send-test <generic source>` and
// end-to-end tests sign and send requests with them as the configured
// sender would.

// Sign returns the signature header value for body under the source's first
// secret: the prefix followed by the encoded HMAC of the message its template
// builds from id, timestamp and body (id and timestamp are ignored when the
// template does not use them).
func (s *Source) Sign(id, timestamp string, body []byte) string {
	return s.sig.sign(s.sig.secrets[0], id, timestamp, body)
}

func (sg *signature) sign(secret []byte, id, timestamp string, body []byte) string {
	m := hmac.New(sg.newHash, secret)
	m.Write(buildMessage(sg.signed, id, timestamp, body))
	mac := m.Sum(nil)
	if sg.base64 {
		return sg.prefix + base64.StdEncoding.EncodeToString(mac)
	}
	return sg.prefix + hex.EncodeToString(mac)
}

// SignedRequest returns a POST of body to url signed as the sender would:
// Content-Type application/json, the id header (a random msg_ id) and the
// timestamp header (now, in the configured unit) when configured, and the
// signature header.
func (s *Source) SignedRequest(url string, body []byte, now time.Time) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("generic: new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	var id, ts string
	if h := s.sig.idHeader; h != "" {
		id = "msg_" + randomHex(12)
		req.Header.Set(h, id)
	}
	if h := s.sig.tsHeader; h != "" {
		ts = formatTimestamp(now, s.sig.tsUnit)
		req.Header.Set(h, ts)
	}
	req.Header.Set(s.sig.header, s.Sign(id, ts, body))
	return req, nil
}

// Sample returns a body shaped by the source's own pointers, so that it maps
// to a lead: a random event id, the first configured type, the time of the
// call, two elements in the Each array, and an example value for every
// mapped field, with test set when it is mapped. Array indices in pointers
// become object member names, which the pointers find just as well.
func (s *Source) Sample(now time.Time) []byte {
	doc := map[string]any{}
	if !s.m.eventID.IsRoot() {
		setAt(doc, s.m.eventID.tokens, "evt_"+randomHex(8))
	}
	if s.m.hasType {
		typ := "lead.created"
		if len(s.m.types) > 0 {
			typ = s.m.types[0]
		}
		setAt(doc, s.m.typ.tokens, typ)
	}
	if s.m.hasTime {
		setAt(doc, s.m.eventTime.tokens, now.UTC().Format(time.RFC3339))
	}
	var elems []any
	if s.m.hasEach {
		elems = []any{map[string]any{}, map[string]any{}}
	}
	for _, f := range s.m.fields {
		if !f.relative {
			setAt(doc, f.ptr.tokens, sampleValue(f.name, 0))
			continue
		}
		for i := range elems {
			if f.ptr.IsRoot() {
				elems[i] = sampleValue(f.name, i)
				continue
			}
			if m, ok := elems[i].(map[string]any); ok {
				setAt(m, f.ptr.tokens, sampleValue(f.name, i))
			}
		}
	}
	if s.m.hasEach {
		setAt(doc, s.m.each.tokens, elems)
	}
	b, _ := json.Marshal(doc) // maps, slices, strings and numbers always marshal
	return b
}

// setAt sets the value at tokens below m, creating objects on the way. A
// value already in the way (two pointers that overlap) is left alone.
func setAt(m map[string]any, tokens []string, v any) {
	if len(tokens) == 0 {
		return
	}
	for _, t := range tokens[:len(tokens)-1] {
		next, ok := m[t]
		if !ok {
			child := map[string]any{}
			m[t] = child
			m = child
			continue
		}
		if m, ok = next.(map[string]any); !ok {
			return
		}
	}
	if _, taken := m[tokens[len(tokens)-1]]; !taken {
		m[tokens[len(tokens)-1]] = v
	}
}

// samplePeople are the people of Sample's leads, one per element.
var samplePeople = [2][4]string{
	{"Jane", "Doe", "jane.doe@example.com", "+46701234567"},
	{"John", "Roe", "john.roe@example.com", "+46709876543"},
}

// sampleValue is an example value of field name for element i.
func sampleValue(name string, i int) any {
	p := samplePeople[i%2]
	switch name {
	case "first_name":
		return p[0]
	case "last_name":
		return p[1]
	case "full_name":
		return p[0] + " " + p[1]
	case "email":
		return p[2]
	case "phone":
		return p[3]
	case "entity_id":
		return "cnt_" + randomHex(6)
	}
	return sampleValues[name]
}

var sampleValues = map[string]any{
	"street": "Storgatan 1", "postal_code": "111 22", "city": "Stockholm", "country": "SE",
	"preferred_contact": "email", "marketing_consent": true,
	"intent": "buy", "reason": "viewing", "message": "I would like to book a viewing & learn more.",
	"listing_id": "lst_1001", "listing_external_id": "EXT-1001",
	"price_min": 3000000, "price_max": 4500000, "bedrooms_min": 2, "currency": "SEK",
	"areas": []string{"Södermalm", "Vasastan"}, "preapproved_mortgage": false, "form": "website-contact",
	"agent_id": "agt_1", "agent_name": "Anna Agent", "agent_email": "anna.agent@example.com",
	"agency_id": "agc_1", "agency_external_id": "A-1", "office_ids": []string{"off_1"}, "negotiator_ids": []string{"neg_1"},
	"action": "created", "entity": "contact", "customer_id": "cust_1", "test": true,
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return hex.EncodeToString(b)
}
