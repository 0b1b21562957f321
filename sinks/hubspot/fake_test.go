package hubspot_test

// A fake HubSpot account: it checks every request against the documented
// contract of the contacts batch upsert, keeps its contacts so repeats can
// be counted, and enforces a rolling rate limit with HubSpot's 429 and
// X-HubSpot-RateLimit-* headers. It is a sinktest.Peer.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadsync/leadsync/sinks/sinktest"
)

const (
	testToken  = "pat-na1-7f3e9c2a-1b4d-4e8f-9a6b-0c5d2e1f3a4b"
	upsertPath = "/crm/v3/objects/contacts/batch/upsert"
)

// contactProps are the properties the fake account has: HubSpot's defaults
// the sink uses plus the custom leadsync_lead_id.
var contactProps = []string{"email", "firstname", "lastname", "phone", "address", "city", "zip",
	"country", "message", "leadsync_lead_id", "hs_lead_status", "hemnet_listing_id"}

type contact struct {
	id    string
	props map[string]string
}

type fakeHubSpot struct {
	srv   *httptest.Server
	done  chan struct{}
	known map[string]bool

	mu         sync.Mutex
	limit      int           // requests per window; 0: no limit
	window     time.Duration // of the rolling limit
	stamps     []time.Time   // of requests let through, for the limit
	answer     sinktest.Answer
	script     func(w http.ResponseWriter) bool // answers instead when it returns true
	contacts   map[string]*contact              // by lowercase email
	received   []sinktest.Received
	requests   int
	limited    int // 429s for the rate limit
	violations []error
}

var _ sinktest.Peer = (*fakeHubSpot)(nil)

func newFake(t testing.TB) *fakeHubSpot {
	f := &fakeHubSpot{done: make(chan struct{}), known: map[string]bool{}, contacts: map[string]*contact{}}
	for _, p := range contactProps {
		f.known[p] = true
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.done) })
	return f
}

// input is one input of a batch upsert as HubSpot documents it.
type input struct {
	ID                 string            `json:"id"`
	IDProperty         string            `json:"idProperty"`
	Properties         map[string]string `json:"properties"`
	ObjectWriteTraceID string            `json:"objectWriteTraceId"`
}

// check enforces the request contract; an error is a violation.
func (f *fakeHubSpot) check(r *http.Request, body []byte) ([]input, error) {
	var errs []error
	if r.Method != http.MethodPost || r.URL.Path != upsertPath {
		errs = append(errs, fmt.Errorf("%s %s: not the batch upsert endpoint", r.Method, r.URL.Path))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		errs = append(errs, fmt.Errorf("content-type %q", ct))
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "leadsync/") {
		errs = append(errs, fmt.Errorf("user-agent %q", ua))
	}
	var req struct {
		Inputs []input `json:"inputs"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		errs = append(errs, fmt.Errorf("body: %v", err))
	} else if len(req.Inputs) == 0 || len(req.Inputs) > 100 {
		errs = append(errs, fmt.Errorf("%d inputs, want 1 to 100", len(req.Inputs)))
	}
	for i, in := range req.Inputs {
		if in.IDProperty != "email" || in.ID == "" || in.ObjectWriteTraceID == "" || in.Properties == nil {
			errs = append(errs, fmt.Errorf("inputs[%d]: want id, idProperty email, properties, objectWriteTraceId: %s", i, body))
		}
	}
	return req.Inputs, errors.Join(errs...)
}

func (f *fakeHubSpot) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	inputs, verr := f.check(r, body)
	authOK := r.Header.Get("Authorization") == "Bearer "+testToken
	f.mu.Lock()
	f.requests++
	if verr != nil {
		f.violations = append(f.violations, verr)
	}
	if !authOK {
		f.violations = append(f.violations, errors.New("authorization is not the bearer token"))
	}
	a, script := f.answer, f.script
	f.mu.Unlock()
	echo := fmt.Sprintf("you sent %v", r.Header) // careless servers echo requests
	switch {
	case !authOK:
		hsError(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION", "Authentication credentials not found. "+echo)
	case verr != nil:
		hsError(w, http.StatusBadRequest, "VALIDATION_ERROR", verr.Error())
	case a == sinktest.Hang:
		select {
		case <-r.Context().Done():
		case <-f.done:
		}
	case a == sinktest.Unavailable:
		hsError(w, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "down; "+echo)
	case a == sinktest.RateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(int(sinktest.PeerRetryAfter.Seconds())))
		hsError(w, http.StatusTooManyRequests, "RATE_LIMIT", "slow down; "+echo)
	case a == sinktest.BadRequest:
		hsError(w, http.StatusBadRequest, "VALIDATION_ERROR", "invalid input; "+echo)
	case script != nil && script(w):
	case !f.allow(w):
	default:
		f.upsert(w, inputs)
	}
}

// allow applies the rolling rate limit, answering 429 as HubSpot does.
func (f *fakeHubSpot) allow(w http.ResponseWriter) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.limit == 0 {
		return true
	}
	now := time.Now()
	kept := f.stamps[:0]
	for _, s := range f.stamps {
		if now.Sub(s) < f.window {
			kept = append(kept, s)
		}
	}
	f.stamps = kept
	h := w.Header()
	h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(f.limit))
	h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(f.window.Milliseconds(), 10))
	if len(f.stamps) >= f.limit {
		f.limited++
		h.Set("X-HubSpot-RateLimit-Remaining", "0")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"status":"error","message":"You have reached your ten_secondly_rolling limit.",`+
			`"errorType":"RATE_LIMIT","correlationId":"c033cdaa","policyName":"TEN_SECONDLY_ROLLING"}`)
		return false
	}
	f.stamps = append(f.stamps, now)
	h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(f.limit-len(f.stamps)))
	return true
}

// upsert writes the inputs, refusing unknown properties as HubSpot does.
func (f *fakeHubSpot) upsert(w http.ResponseWriter, inputs []input) {
	for _, in := range inputs {
		for p := range in.Properties {
			if !f.known[p] {
				hsError(w, http.StatusBadRequest, "VALIDATION_ERROR",
					fmt.Sprintf(`Property values were not valid: [{"isValid":false,"message":"Property \"%s\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"%s"}]`, p, p))
				return
			}
		}
	}
	type result struct {
		ID         string            `json:"id"`
		Properties map[string]string `json:"properties"`
		New        bool              `json:"new"`
	}
	var results []result
	f.mu.Lock()
	for _, in := range inputs {
		key := strings.ToLower(in.ID)
		c, ok := f.contacts[key]
		if !ok {
			c = &contact{id: strconv.Itoa(1000 + len(f.contacts)), props: map[string]string{"email": in.ID}}
			f.contacts[key] = c
		}
		for k, v := range in.Properties {
			c.props[k] = v
		}
		body, _ := json.Marshal(in)
		f.received = append(f.received, sinktest.Received{ID: in.ObjectWriteTraceID, Body: body})
		results = append(results, result{ID: c.id, Properties: c.props, New: !ok})
	}
	out, _ := json.Marshal(map[string]any{"status": "COMPLETE", "results": results,
		"startedAt": time.Now().UTC(), "completedAt": time.Now().UTC()})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// hsError writes HubSpot's error shape.
func hsError(w http.ResponseWriter, status int, category, msg string) {
	body, _ := json.Marshal(map[string]string{"status": "error", "message": msg, "category": category,
		"correlationId": "2f6e0e6b-5d6a-4a0e-9e64-8a4b3f0c1d2e"})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (f *fakeHubSpot) Addr() string { return f.srv.URL }

func (f *fakeHubSpot) Answer(a sinktest.Answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = a
}

func (f *fakeHubSpot) Received() []sinktest.Received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sinktest.Received(nil), f.received...)
}

func (f *fakeHubSpot) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func (f *fakeHubSpot) Violations() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.violations...)
}

// setLimit turns on the rolling rate limit.
func (f *fakeHubSpot) setLimit(n int, window time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limit, f.window = n, window
}

// setScript makes s answer before the contacts are written.
func (f *fakeHubSpot) setScript(s func(w http.ResponseWriter) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = s
}

// contactsByEmail returns a copy of the account's contacts.
func (f *fakeHubSpot) contactsByEmail() map[string]map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]map[string]string{}
	for k, c := range f.contacts {
		props := map[string]string{"hs_object_id": c.id}
		for p, v := range c.props {
			props[p] = v
		}
		out[k] = props
	}
	return out
}

func (f *fakeHubSpot) rateLimited() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.limited
}
