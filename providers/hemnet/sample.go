package hemnet

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/leadsync/leadsync/providers"
)

// Helpers to play Hemnet: `leadsync send-test hemnet` and end-to-end tests
// sign and send requests with them exactly as Hemnet would.

// Sign returns the X-Signature value Hemnet sends for body under key: the
// lowercase hex HMAC-SHA256 of the raw bytes.
func Sign(key, body []byte) string { return providers.SignHMACSHA256Hex(key, body) }

// sampleBody is the Contact example of Hemnet's documentation, compact as
// Hemnet sends it, with %s for the JSON-quoted id. The message holds a
// \u0026, as Hemnet escapes & (and <, >), so that every send-test also
// proves the verify-raw, decode-after path.
const sampleBody = `{"type":"CONTACT","action":"CREATE","data":{"id":%s,` +
	`"recipientType":"BROKER","email":"john.doe@example.com","phone":"070111222333",` +
	`"firstName":"John","lastName":"Doe",` +
	`"message":"I am interested in this property \u0026 would like to book a viewing",` +
	`"listing":{"id":12345678,"externalId":"abc123def"},` +
	`"broker":{"id":12345,"email":"anon@example.com","fullName":"Anon Ymous"},` +
	`"brokerAgency":{"id":654321,"externalId":123},` +
	`"contactPreference":"EMAIL","contactReason":"OTHER",` +
	`"streetName":"Test street","streetNumber":"12A","postalCity":"Testköping",` +
	`"preapprovedMortgage":false,"source":"LISTING_FOR_SALE_CONTACT_FORM"}}`

// Sample returns a realistic CONTACT/CREATE body (Hemnet's documented
// example) for the contact id. An empty id gets a random UUID, so that each
// send-test makes a new lead rather than a duplicate.
func Sample(id string) []byte {
	if id == "" {
		id = newUUID()
	}
	q, _ := json.Marshal(id) // a string always marshals
	return fmt.Appendf(nil, sampleBody, q)
}

// SignedRequest returns a POST of body to url with the headers Hemnet sends:
// Content-Type, User-Agent "Hemnet API Client", X-Timestamp (now, Unix ms),
// X-Signature (Sign(key, body)) and a random X-Request-Id.
func SignedRequest(url string, key, body []byte, now time.Time) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("hemnet: new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Hemnet API Client")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.UnixMilli(), 10))
	req.Header.Set(HeaderSignature, Sign(key, body))
	req.Header.Set(HeaderRequestID, newUUID())
	return req, nil
}

// newUUID returns a random (version 4) UUID, the form of Hemnet's contact
// and request ids.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
