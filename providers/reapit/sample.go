package reapit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Helpers to play Reapit: `leadsync send-test` and end-to-end tests sign and
// send requests with them exactly as Reapit would.

// SignEd25519 returns the X-Signature value Reapit sends for body:
// "s:<kid>:<unix seconds>:<signature>", the signature being Ed25519 over the
// seconds as decimal text followed by the body, base64url without padding.
func SignEd25519(priv ed25519.PrivateKey, kid string, ts time.Time, body []byte) string {
	secs := strconv.FormatInt(ts.Unix(), 10)
	msg := append([]byte(secs), body...)
	return "s:" + kid + ":" + secs + ":" + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, msg))
}

// LegacySignature returns the Reapit-Webhook-Signature value of the legacy
// scheme: the standard base64 of the client id.
func LegacySignature(clientID string) string {
	return base64.StdEncoding.EncodeToString([]byte(clientID))
}

// sampleApplicant is the applicant fixture (Reapit's swagger example),
// compact as Reapit sends it, with verbs for the JSON-quoted id, created
// and modified times and _eTag.
const sampleApplicant = `{"id":%[1]s,"created":%[2]s,"modified":%[2]s,` +
	`"marketingMode":"buying","currency":"GBP","active":true,` +
	`"notes":"Looking to move his mother back into the area","sellingStatus":null,` +
	`"sellingPosition":"nothingToSell","statusId":"ACT","bedroomsMin":4,"bedroomsMax":5,` +
	`"receptionsMin":null,"receptionsMax":null,"locationType":"areas","locationOptions":["SOL","BHM","WLV"],` +
	`"buying":{"priceFrom":250000,"priceTo":275000,"tenure":["freehold","leasehold"],"reasonId":"","positionId":""},` +
	`"renting":null,"source":{"id":"RMV","type":"source"},"officeIds":["OXF","SOL"],"negotiatorIds":["JAS"],` +
	`"related":[{"id":"OXF12300101","name":"Mr John Smith","title":"Mr","forename":"John","surname":"Smith",` +
	`"type":"contact","homePhone":"01234 567890","workPhone":null,"mobilePhone":"07890 123456",` +
	`"email":"example@email.com","marketingConsent":"grant","fromArchive":false,` +
	`"primaryAddress":{"buildingName":"","buildingNumber":"15","line1":"Example street","line2":"Solihull",` +
	`"line3":"West Midlands","line4":"","postcode":"B91 2XX","countryId":"GB"}}],` +
	`"metadata":{"CustomField1":"CustomValue1"},"_eTag":%[3]s,` +
	`"_links":{"self":{"href":"/applicants/%[4]s"},"relationships":{"href":"/applicants/%[4]s/relationships"}}}`

// Sample returns a realistic applicants.created webhook body for the
// applicant id and customer, built from Reapit's applicant example and
// stamped now. An empty id gets a random one (so that each send-test makes
// a new lead), an empty customer is SBOX (sandbox data: the lead has
// test: true).
func Sample(applicantID, customer string) []byte {
	if applicantID == "" {
		applicantID = "SMP" + strconv.FormatUint(randUint()%1e8, 10)
	}
	if customer == "" {
		customer = CustomerSandbox
	}
	now := time.Now().UTC()
	stamp := now.Truncate(time.Second).Format(time.RFC3339)
	etag := fmt.Sprintf(`"%032X"`, randBytes(16))
	q := quote(applicantID)
	app := fmt.Sprintf(sampleApplicant, q, quote(stamp), quote(etag), q[1:len(q)-1])
	return fmt.Appendf(nil, `{"SendAttempts":1,"eventId":%s,"entityId":%s,"customerId":%s,"eventTime":%s,`+
		`"topicId":"applicants.created","new":%s,"old":null,"diff":null}`,
		quote(newUUID()), quote(applicantID), quote(customer), quote(now.Format("2006-01-02T15:04:05.0000000Z")), app)
}

// SignedRequest returns a POST of body to url signed by the legacy scheme,
// as Reapit sends it: Content-Type and Reapit-Webhook-Signature
// (LegacySignature(legacyClientID)).
func SignedRequest(url string, body []byte, legacyClientID string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("reapit: new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderLegacySignature, LegacySignature(legacyClientID))
	return req, nil
}

func quote(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return b
}

func randUint() uint64 {
	var v uint64
	for _, c := range randBytes(8) {
		v = v<<8 | uint64(c)
	}
	return v
}

// newUUID returns a random (version 4) UUID, the form of Reapit's event ids.
func newUUID() string {
	b := randBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
