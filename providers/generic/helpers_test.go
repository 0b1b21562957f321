package generic_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/generic"
)

// The secrets, clock and scheme every test request is made with. The scheme
// is the generic webhooks guide's: hex HMAC-SHA256 over timestamp + body in
// X-Webhook-Signature, Unix seconds in X-Webhook-Timestamp.
var (
	testSecret     = []byte("site-secret-1")
	testSecretNext = []byte("site-secret-2")
	testNow        = time.Date(2023, 6, 15, 14, 20, 0, 0, time.UTC)
	testReceived   = testNow.Add(37 * time.Millisecond)
)

const (
	hdrSig = "X-Webhook-Signature"
	hdrTS  = "X-Webhook-Timestamp"
	hdrID  = "X-Webhook-Id"
)

// guideConfig is the guide's scheme with the event envelope {id, type,
// created, data} and the given fields.
func guideConfig(fields map[string]string) generic.Config {
	return generic.Config{
		Name: "website", Header: hdrSig, Signed: generic.SignedTimestampBody,
		Secrets: [][]byte{testSecret}, TimestampHeader: hdrTS, MaxClockSkew: 5 * time.Minute,
		EventID: "/id", EventTime: "/created", Type: "/type", Fields: fields,
		Now: func() time.Time { return testNow },
	}
}

func newSource(t testing.TB, cfg generic.Config) *generic.Source {
	t.Helper()
	s, err := generic.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// request returns body as intake would hand it over, stamped at testNow and
// signed by s as its sender would.
func request(s *generic.Source, body []byte) *providers.Request {
	ts := strconv.FormatInt(testNow.Unix(), 10)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(hdrTS, ts)
	h.Set(hdrID, "msg_1")
	h.Set(hdrSig, s.Sign("msg_1", ts, body))
	return &providers.Request{Source: s.Name(), Body: body, Header: h, ReceivedAt: testReceived, RequestID: "req_1"}
}
