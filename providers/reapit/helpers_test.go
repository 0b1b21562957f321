package reapit_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/reapit"
)

// Test keys: fixed seeds, so that golden requests stay signed the same way.
var (
	testPriv  = ed25519.NewKeyFromSeed([]byte(strings.Repeat("k", ed25519.SeedSize)))
	testPub   = testPriv.Public().(ed25519.PublicKey)
	otherPriv = ed25519.NewKeyFromSeed([]byte(strings.Repeat("o", ed25519.SeedSize)))
	otherPub  = otherPriv.Public().(ed25519.PublicKey)
	// testNow is when every test request is signed and verified.
	testNow      = time.Date(2024, 4, 12, 10, 39, 16, 0, time.UTC)
	testReceived = testNow.Add(39 * time.Millisecond)
)

const (
	testKid          = "k1"
	testClientID     = "reapit-test-client"
	testClientSecret = "reapit-test-secret-do-not-print"
)

func b64(k []byte) string { return base64.RawURLEncoding.EncodeToString(k) }

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: testNow} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// staticConfig is a source that knows testKid by config and cannot fetch.
func staticConfig() reapit.Config {
	return reapit.Config{
		Name:         "reapit",
		Signature:    reapit.SignatureEd25519,
		PublicKeys:   map[string]string{testKid: b64(testPub)},
		Topics:       []string{reapit.TopicApplicantsCreated, reapit.TopicApplicantsModified, "contacts.modified"},
		Customers:    []string{"OXF", "RPT", reapit.CustomerSandbox},
		MaxClockSkew: 10 * time.Minute,
		Now:          func() time.Time { return testNow },
	}
}

func newSource(t testing.TB, cfg reapit.Config) *reapit.Source {
	t.Helper()
	s, err := reapit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// request returns body as intake would hand it over, signed with testPriv
// as testKid at testNow.
func request(body []byte) *providers.Request {
	return requestSigned(body, reapit.SignEd25519(testPriv, testKid, testNow, body))
}

func requestSigned(body []byte, xsig string) *providers.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if xsig != "" {
		h.Set(reapit.HeaderSignature, xsig)
	}
	return &providers.Request{Source: "reapit", Body: body, Header: h, ReceivedAt: testReceived, RequestID: "req_test"}
}

// memCache is a KeyCache in memory that counts its calls.
type memCache struct {
	mu         sync.Mutex
	keys       map[string][]byte
	gets, puts int
}

func (c *memCache) GetKey(kid string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	k, ok := c.keys[kid]
	return k, ok
}

func (c *memCache) PutKey(kid string, key []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts++
	if c.keys == nil {
		c.keys = map[string][]byte{}
	}
	c.keys[kid] = key
	return nil
}
