package salesforce_test

// A fake Salesforce org: a token endpoint for the client credentials flow
// that checks the form and the connected app's credentials, and the Lead
// sObject upsert by external id that checks the bearer token (expired ones
// answer 401 INVALID_SESSION_ID), the path, the body (known fields only,
// LastName and Company on create, field lengths) and keeps its Leads so that
// repeats can be counted. After a number of API requests it answers 403
// REQUEST_LIMIT_EXCEEDED, as Salesforce does instead of 429. It is a
// sinktest.Peer: its answer applies to the upsert endpoint, and Requests
// counts upsert requests.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/leadsync/leadsync/sinks/sinktest"
)

const (
	testClientID     = "3MVG9fTLmJ60pJ5JqFakeConsumerKeyForTests.aBcDeFgHiJkLmNoPqRsTuV"
	testClientSecret = "E1F2A3B4C5D6E7F8A9B0C1D2E3F4A5B6C7D8E9F0A1B2C3D4E5F6"
	tokenPrefix      = "00DFAKE!AQ4AQFakeAccessToken" // every token the fake issues starts so
	externalField    = "LeadSync_Id__c"
	leadPath         = "/services/data/v62.0/sobjects/Lead/"
)

// leadFields are the Lead fields the fake org has, with their lengths (0:
// not a text field with a limit the fake checks).
var leadFields = map[string]int{
	"FirstName": 40, "LastName": 80, "Company": 255, "Email": 80, "Phone": 40, "Street": 255,
	"City": 40, "PostalCode": 20, "Country": 80, "Description": 32000, "LeadSource": 0, "Status": 0,
	externalField: 255, "Listing_Id__c": 50,
}

type sfLead struct {
	ID     string
	Fields map[string]string
}

type fakeSalesforce struct {
	srv  *httptest.Server
	done chan struct{}

	mu          sync.Mutex
	answer      sinktest.Answer
	tokens      map[string]bool // issued, still valid
	issued      int
	refuseAll   bool // every token answers 401, as for a run-as user without API access
	limit       int  // API requests allowed; 0: no limit
	apiRequests int
	lockRow     int                  // UNABLE_TO_LOCK_ROW answers still to give
	leads       map[string][]*sfLead // by external id; more than one: 300
	created     int
	received    []sinktest.Received
	requests    int
	violations  []error
}

var _ sinktest.Peer = (*fakeSalesforce)(nil)

func newFake(t testing.TB) *fakeSalesforce {
	f := &fakeSalesforce{done: make(chan struct{}), tokens: map[string]bool{}, leads: map[string][]*sfLead{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/services/oauth2/token", f.token)
	mux.HandleFunc(leadPath, f.upsert)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.violation(fmt.Errorf("%s %s: no such endpoint", r.Method, r.URL.Path))
		sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.done) })
	return f
}

func (f *fakeSalesforce) violation(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.violations = append(f.violations, err)
}

// token is the client credentials flow. A refused request echoes the form,
// as a careless server might.
func (f *fakeSalesforce) token(w http.ResponseWriter, r *http.Request) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	switch {
	case r.Method != http.MethodPost || ct != "application/x-www-form-urlencoded" || err != nil:
		f.violation(fmt.Errorf("token: %s with %q", r.Method, ct))
		oauthError(w, "invalid_request", "must be a form POST")
		return
	case r.URL.RawQuery != "":
		f.violation(errors.New("token: credentials in the URL"))
	case form.Get("grant_type") != "client_credentials":
		f.violation(fmt.Errorf("token: grant_type %q", form.Get("grant_type")))
		oauthError(w, "unsupported_grant_type", "grant type not supported")
		return
	}
	if form.Get("client_id") != testClientID || form.Get("client_secret") != testClientSecret {
		oauthError(w, "invalid_client", "invalid client credentials: "+string(body))
		return
	}
	f.mu.Lock()
	f.issued++
	tok := tokenPrefix + strconv.Itoa(f.issued)
	f.tokens[tok] = true
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"access_token": tok, "instance_url": f.srv.URL,
		"id": f.srv.URL + "/id/00Dxx0000001gPLEAY/005xx000001Sv6AAAS", "token_type": "Bearer",
		"issued_at": "1717000000000", "signature": "c2lnbmF0dXJl", "scope": "api"})
}

func (f *fakeSalesforce) upsert(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	auth, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	f.requests++
	f.apiRequests++
	a, valid, overLimit := f.answer, f.tokens[auth] && !f.refuseAll, f.limit > 0 && f.apiRequests > f.limit
	lockRow := f.lockRow > 0
	if lockRow {
		f.lockRow--
	}
	usage := fmt.Sprintf("api-usage=%d/%d", f.apiRequests, f.limit)
	f.mu.Unlock()
	w.Header().Set("Sforce-Limit-Info", usage)
	echo := fmt.Sprintf("you sent %v", r.Header)
	field, id, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, leadPath), "/")
	switch {
	case !valid:
		sfError(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
	case r.Method != http.MethodPatch || r.Header.Get("Content-Type") != "application/json" || id == "" || strings.Contains(id, "/"):
		f.violation(fmt.Errorf("%s %s (%s): not an upsert by external id", r.Method, r.URL.Path, r.Header.Get("Content-Type")))
		sfError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method not allowed")
	case overLimit:
		sfError(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
	case a == sinktest.Hang:
		select {
		case <-r.Context().Done():
		case <-f.done:
		}
	case a == sinktest.Unavailable:
		sfError(w, http.StatusServiceUnavailable, "SERVER_UNAVAILABLE", "down for maintenance; "+echo)
	case a == sinktest.RateLimited:
		sfError(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded; "+echo)
	case a == sinktest.BadRequest:
		sfError(w, http.StatusBadRequest, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "refused by a validation rule; "+echo)
	case lockRow:
		sfError(w, http.StatusBadRequest, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
	case field != externalField:
		sfError(w, http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+field)
	default:
		f.write(w, id, body, strings.Contains(r.Header.Get("Sforce-Duplicate-Rule-Header"), "allowSave=true"))
	}
}

// write checks the record and creates or updates the Lead.
func (f *fakeSalesforce) write(w http.ResponseWriter, id string, body []byte, allowSave bool) {
	var rec map[string]string
	if err := json.Unmarshal(body, &rec); err != nil {
		f.violation(fmt.Errorf("upsert body: %v: %s", err, body))
		sfError(w, http.StatusBadRequest, "JSON_PARSER_ERROR", err.Error())
		return
	}
	for k, v := range rec {
		n, ok := leadFields[k]
		switch {
		case k == externalField || k == "Id":
			f.violation(fmt.Errorf("upsert body sets %s", k))
			sfError(w, http.StatusBadRequest, "INVALID_FIELD", "Unable to create/update fields: "+k)
			return
		case !ok:
			sfError(w, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type Lead", k))
			return
		case n > 0 && utf8.RuneCountInString(v) > n:
			sfError(w, http.StatusBadRequest, "STRING_TOO_LONG", fmt.Sprintf("%s: data value too large (max length=%d)", k, n))
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	found := f.leads[id]
	if len(found) > 1 {
		writeJSON(w, http.StatusMultipleChoices, []string{leadPath[:len(leadPath)-5] + "Lead/" + found[0].ID, leadPath[:len(leadPath)-5] + "Lead/" + found[1].ID})
		return
	}
	status := http.StatusOK
	if len(found) == 0 {
		var missing []string
		for _, req := range []string{"Company", "LastName"} {
			if rec[req] == "" {
				missing = append(missing, req)
			}
		}
		if len(missing) > 0 {
			sfError(w, http.StatusBadRequest, "REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: %v", missing))
			return
		}
		// The standard Lead duplicate rule (Allow, with an alert): over
		// the API a new Lead with an existing Lead's email is refused
		// unless the request says to save it all the same.
		if email := rec["Email"]; email != "" && !allowSave {
			for _, ls := range f.leads {
				if ls[0].Fields["Email"] == email {
					sfError(w, http.StatusBadRequest, "DUPLICATES_DETECTED", "Use one of these records?")
					return
				}
			}
		}
		f.created++
		found = []*sfLead{{ID: fmt.Sprintf("00Q5e00000%08d", f.created), Fields: map[string]string{externalField: id}}}
		f.leads[id] = found
		status = http.StatusCreated
	}
	l := found[0]
	for k, v := range rec {
		l.Fields[k] = v
	}
	got, _ := json.Marshal(l.Fields)
	f.received = append(f.received, sinktest.Received{Body: got})
	writeJSON(w, status, map[string]any{"id": l.ID, "success": true, "errors": []any{}, "created": status == http.StatusCreated})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func sfError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, []map[string]any{{"message": msg, "errorCode": code, "fields": []string{}}})
}

func oauthError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

func (f *fakeSalesforce) Addr() string { return f.srv.URL }

func (f *fakeSalesforce) Answer(a sinktest.Answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = a
}

func (f *fakeSalesforce) Received() []sinktest.Received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sinktest.Received(nil), f.received...)
}

func (f *fakeSalesforce) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func (f *fakeSalesforce) Violations() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.violations...)
}

// with runs fn under the fake's lock, to script or inspect it.
func (f *fakeSalesforce) with(fn func(f *fakeSalesforce)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// expire ends every session, as a session timeout or a revoke does.
func (f *fakeSalesforce) expire() {
	f.with(func(f *fakeSalesforce) { clear(f.tokens) })
}

// lead returns the fields of the one Lead with external id id.
func (f *fakeSalesforce) lead(t *testing.T, id string) map[string]string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.leads[id]); n != 1 {
		t.Fatalf("%d Leads with %s %s, want 1", n, externalField, id)
	}
	out := map[string]string{}
	for k, v := range f.leads[id][0].Fields {
		out[k] = v
	}
	return out
}
