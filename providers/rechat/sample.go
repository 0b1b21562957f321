package rechat

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/leadsync/leadsync/providers"
)

// Helpers to play Rechat: `leadsync send-test rechat` and end-to-end tests
// sign and send requests with them exactly as Rechat's server does.

// Sign returns the X-RECHAT-SIGNATURE value for body under key (64 hex
// characters, as Rechat shows it): the lowercase hex HMAC-SHA256 of the raw
// bytes keyed with the hex-decoded key. The error never contains the key.
func Sign(key string, body []byte) (string, error) {
	k, err := decodeKey(key)
	if err != nil {
		return "", fmt.Errorf("rechat: key: %w", err)
	}
	return providers.SignHMACSHA256Hex(k, body), nil
}

// SignedRequest returns a POST of body to url with the headers Rechat sends:
// Content-Type application/json and X-RECHAT-SIGNATURE.
func SignedRequest(url, key string, body []byte) (*http.Request, error) {
	sig, err := Sign(key, body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("rechat: new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderSignature, sig)
	return req, nil
}

// sampleEnvelope is the body Rechat posts, its keys in Rechat's order.
type sampleEnvelope struct {
	Topic     string `json:"topic"`
	Event     string `json:"event"`
	Timestamp int64  `json:"timestamp"`
	Payload   any    `json:"payload"`
}

// SampleContacts returns a realistic Contacts "create" delivery of n
// contacts (at least 1; Rechat sends at most 50 per delivery) in the
// "references" format Rechat's server uses: summary fields on each contact,
// and a note attribute per contact resolved through the references. Ids
// are random and the times are now, so that each call makes new leads.
func SampleContacts(n int) []byte {
	n = max(n, 1)
	now := time.Now()
	secs := strconv.FormatFloat(float64(now.UnixMicro())/1e6, 'f', 6, 64)
	brand, user, noteDef := newUUID(), newUUID(), newUUID()
	attrs := map[string]any{}
	contacts := make([]any, 0, n)
	for i := range n {
		c, note := sampleContact(i, brand, user, secs)
		attrs[note] = map[string]any{
			"id": note, "type": "contact_attribute", "contact": c["id"], "attribute_def": noteDef,
			"text":       "Saw the listing on the website & would like a viewing this weekend.",
			"is_primary": false, "is_partner": false, "index": nil, "label": nil,
			"created_at": json.Number(secs), "updated_at": json.Number(secs),
		}
		contacts = append(contacts, c)
	}
	payload := map[string]any{
		"data": contacts,
		"references": map[string]any{
			"contact_attribute": attrs,
			"contact_attribute_def": map[string]any{noteDef: map[string]any{
				"id": noteDef, "type": "contact_attribute_def", "name": "note", "label": "Note",
				"data_type": "text", "section": "Notes", "global": true, "singular": false,
			}},
		},
		"metadata": map[string]any{},
	}
	b, _ := json.Marshal(sampleEnvelope{Topic: "contacts", Event: "create", Timestamp: now.UnixMilli(), Payload: payload})
	return b // maps, slices, strings, numbers and booleans always marshal
}

// samplePeople are the names SampleContacts cycles through.
var samplePeople = [][2]string{
	{"Jane", "Doe"}, {"Carlos", "Rivera"}, {"Aisha", "Khan"}, {"Wei", "Zhang"}, {"Emma", "Johansson"},
}

// sampleContact returns contact i of a sample and the id of its note.
func sampleContact(i int, brand, user, secs string) (map[string]any, string) {
	p := samplePeople[i%len(samplePeople)]
	email := fmt.Sprintf("%s.%s+%d@example.com", strings.ToLower(p[0]), strings.ToLower(p[1]), i+1)
	phone := fmt.Sprintf("+1214555%04d", 100+i)
	note := newUUID()
	return map[string]any{
		"id": newUUID(), "type": "contact", "brand": brand, "user": user, "created_by": user,
		"display_name": p[0] + " " + p[1], "sort_field": p[1] + " " + p[0],
		"first_name": p[0], "last_name": p[1], "middle_name": nil, "nickname": nil, "title": nil,
		"email": email, "emails": []string{email}, "phone_number": phone, "phone_numbers": []string{phone},
		"company": nil, "job_title": nil, "birthday": nil,
		"address": []any{map[string]any{
			"type": "stdaddr", "line1": fmt.Sprintf("%d Main St", 100+i), "line2": nil,
			"city": "Dallas", "state": "TX", "postcode": "75201", "country": "US", "is_primary": true,
			"full": fmt.Sprintf("%d Main St, Dallas, TX 75201", 100+i),
		}},
		"source_type": "Website", "source": "leadsync send-test", "tags": []string{"Buyer", "Website Lead"},
		"attributes": []string{note},
		"created_at": json.Number(secs), "updated_at": json.Number(secs), "deleted_at": nil,
		"last_touch": nil, "next_touch": nil,
	}, note
}

// newUUID returns a random (version 4) UUID, the form of Rechat's ids.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
