package rechat_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/rechat"
)

// The keys every test request is signed with: the one of Rechat's
// documentation example, and a second one for another topic's webhook.
const (
	testKey      = "16b43e2f5379346d4e605f4389c8366bece1756a22fbef3a7906549d8eaf097e"
	testKeyOther = "b7c5e1d0a9f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e6d5c4b3a2918070605"
)

var testReceived = time.Date(2024, 4, 12, 10, 39, 16, 540e6, time.UTC)

func newSource(t testing.TB, topics ...string) *rechat.Source {
	t.Helper()
	s, err := rechat.New(rechat.Config{Name: "rechat", Key: testKey, Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// request returns body as intake would hand it over, signed with testKey as
// Rechat sends it.
func request(t testing.TB, body []byte) *providers.Request {
	t.Helper()
	sig, err := rechat.Sign(testKey, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(rechat.HeaderSignature, sig)
	return &providers.Request{Source: "rechat", Body: body, Header: h, ReceivedAt: testReceived, RequestID: "req_1"}
}
