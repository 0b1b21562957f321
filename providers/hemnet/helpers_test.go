package hemnet_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/hemnet"
)

// The clock and headers every test request is made with: the instant of
// Hemnet's documented example.
var (
	testKey      = []byte("hemnet-test-key")
	testKeyNext  = []byte("hemnet-test-key-next")
	testNow      = time.UnixMilli(1712918356462)
	testReceived = time.UnixMilli(1712918356501)
)

const testRequestID = "d2caad70-082f-4553-bbde-dbdca520361a"

func newSource(t testing.TB, skew time.Duration, keys ...[]byte) *hemnet.Source {
	t.Helper()
	if len(keys) == 0 {
		keys = [][]byte{testKey}
	}
	s, err := hemnet.New(hemnet.Config{
		Name: "hemnet", Keys: keys, MaxClockSkew: skew,
		Now: func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// request returns body as intake would hand it over, signed with testKey and
// stamped at testNow, as Hemnet sends it.
func request(body []byte) *providers.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(hemnet.HeaderSignature, hemnet.Sign(testKey, body))
	h.Set(hemnet.HeaderTimestamp, "1712918356462")
	h.Set(hemnet.HeaderRequestID, testRequestID)
	return &providers.Request{
		Source: "hemnet", Body: body, Header: h, ReceivedAt: testReceived, RequestID: testRequestID,
	}
}
