package reapit_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers/reapit"
)

// fakeReapit is a Reapit platform that enforces the documented contract:
// the token endpoint checks Basic auth and the form, the API checks the
// bearer token, api-version, reapit-customer and the query, and pages
// exactly as GET /applicants does. A request that breaks the contract fails
// the test and gets a 4xx, as Reapit would answer.
type fakeReapit struct {
	t   testing.TB
	srv *httptest.Server

	mu            sync.Mutex
	tokenRequests int
	tokenSeq      int
	issued        map[string]bool
	expiresIn     int
	tokenGate     chan struct{} // when set, the token endpoint waits on it
	keys          map[string]ed25519.PublicKey
	keyFetches    map[string]int
	keyStatus     int           // when set, the signing endpoint answers it
	keyGate       chan struct{} // when set, the signing endpoint waits on it
	applicants    map[string][]fakeApplicant
	fail          map[int]int // pageNumber → status answered once
	apiTimes      []time.Time
	pageRequests  []string // query strings of GET /applicants, in order
}

type fakeApplicant struct {
	modified time.Time
	raw      json.RawMessage
}

func newFake(t testing.TB) *fakeReapit {
	f := &fakeReapit{t: t, issued: map[string]bool{}, expiresIn: 3600,
		keys: map[string]ed25519.PublicKey{testKid: testPub}, keyFetches: map[string]int{},
		applicants: map[string][]fakeApplicant{}, fail: map[int]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /webhooks/signing/{kid}", f.signingKey)
	mux.HandleFunc("GET /applicants/{$}", f.listApplicants)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("fake reapit: unexpected %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.checkRate)
	return f
}

// config is a source using the fake for keys and polling.
func (f *fakeReapit) config(now func() time.Time) reapit.Config {
	return reapit.Config{
		Name: "reapit", ClientID: testClientID, ClientSecret: testClientSecret,
		Signature: reapit.SignatureEd25519, Customers: []string{"OXF", reapit.CustomerSandbox},
		APIURL: f.srv.URL, TokenURL: f.srv.URL + "/token", MaxClockSkew: 10 * time.Minute,
		HTTPClient: f.srv.Client(), Now: now,
	}
}

func (f *fakeReapit) token(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("token: Content-Type %q", ct)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	if id, secret, ok := r.BasicAuth(); !ok || id != testClientID || secret != testClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" ||
		r.PostForm.Get("client_id") != testClientID || len(r.PostForm) != 2 {
		f.t.Errorf("token: form %v (%v)", r.PostForm, err)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	f.mu.Lock()
	gate := f.tokenGate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	f.tokenRequests++
	f.tokenSeq++
	tok := fmt.Sprintf("tok-%d", f.tokenSeq)
	f.issued[tok] = true
	exp := f.expiresIn
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": exp, "token_type": "Bearer"})
}

// api checks what every API call must carry and records it for the rate
// check. It answers and returns false when the call is refused.
func (f *fakeReapit) api(w http.ResponseWriter, r *http.Request) bool {
	f.mu.Lock()
	f.apiTimes = append(f.apiTimes, time.Now())
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	ok = ok && f.issued[tok]
	f.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
		return false
	}
	if v := r.Header.Get("api-version"); v != "2020-01-31" {
		f.t.Errorf("%s: api-version %q", r.URL.Path, v)
		w.WriteHeader(http.StatusBadRequest)
		return false
	}
	return true
}

func (f *fakeReapit) signingKey(w http.ResponseWriter, r *http.Request) {
	if !f.api(w, r) {
		return
	}
	kid := r.PathValue("kid")
	f.mu.Lock()
	f.keyFetches[kid]++
	gate, status, pub := f.keyGate, f.keyStatus, f.keys[kid]
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	switch {
	case status != 0:
		w.WriteHeader(status)
	case kid == "absent": // a key set that does not hold the kid asked for
		writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{"kid": "k1", "crv": "Ed25519", "x": b64(testPub)}}})
	case pub == nil:
		writeJSON(w, http.StatusNotFound, map[string]string{"description": "not found"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{"kid": kid, "crv": "Ed25519", "x": b64(pub)}}})
	}
}

func (f *fakeReapit) listApplicants(w http.ResponseWriter, r *http.Request) {
	if !f.api(w, r) {
		return
	}
	customer := r.Header.Get("reapit-customer")
	f.mu.Lock()
	all, known := f.applicants[customer]
	f.pageRequests = append(f.pageRequests, r.URL.RawQuery)
	f.mu.Unlock()
	if !known {
		f.t.Errorf("applicants: reapit-customer %q", customer)
		w.WriteHeader(http.StatusForbidden)
		return
	}
	from, number, ok := f.query(r)
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	status := f.fail[number]
	delete(f.fail, number)
	f.mu.Unlock()
	if status != 0 {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(status)
		return
	}
	var match []json.RawMessage
	for _, a := range all { // kept sorted by modified
		if !a.modified.Before(from) {
			match = append(match, a.raw)
		}
	}
	const size = 100
	total := (len(match) + size - 1) / size
	page := match[min((number-1)*size, len(match)):min(number*size, len(match))]
	writeJSON(w, http.StatusOK, map[string]any{"_embedded": nonNil(page), "pageNumber": number, "pageSize": size,
		"pageCount": len(page), "totalPageCount": total, "totalCount": len(match),
		"_links": map[string]any{"self": map[string]string{"href": "/applicants/?" + r.URL.RawQuery}}})
}

// query checks GET /applicants' query: modifiedFrom (optional, RFC 3339),
// sortBy=modified, pageSize=100 and pageNumber ≥ 1, nothing else.
func (f *fakeReapit) query(r *http.Request) (from time.Time, number int, ok bool) {
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains([]string{"modifiedFrom", "sortBy", "pageSize", "pageNumber"}, k) || len(q[k]) != 1 {
			f.t.Errorf("applicants: query %q", r.URL.RawQuery)
			return from, 0, false
		}
	}
	if v := q.Get("modifiedFrom"); v != "" || q.Has("modifiedFrom") {
		var err error
		if from, err = time.Parse(time.RFC3339, v); err != nil {
			f.t.Errorf("applicants: modifiedFrom %q: %v", v, err)
			return from, 0, false
		}
	}
	number, err := strconv.Atoi(q.Get("pageNumber"))
	if q.Get("sortBy") != "modified" || q.Get("pageSize") != "100" || err != nil || number < 1 {
		f.t.Errorf("applicants: query %q", r.URL.RawQuery)
		return from, 0, false
	}
	return from, number, true
}

// checkRate fails the test when API calls ever went over 20 in a second.
func (f *fakeReapit) checkRate() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.apiTimes {
		n := 0
		for _, t := range f.apiTimes[i:] {
			if t.Sub(f.apiTimes[i]) < time.Second {
				n++
			}
		}
		if n > 20 {
			f.t.Errorf("%d API requests within a second from %s", n, f.apiTimes[i].Format(time.StampMilli))
			return
		}
	}
}

// addApplicants gives customer n applicants made from the fixture, ids
// <prefix>0000…, modified a minute apart from start, created an hour
// before (the first one: created == modified).
func (f *fakeReapit) addApplicants(customer, prefix string, n int, start time.Time) []string {
	f.t.Helper()
	fixture := readFixture(f.t)
	var ids []string
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range n {
		var a map[string]any
		if err := json.Unmarshal(fixture, &a); err != nil {
			f.t.Fatal(err)
		}
		id := fmt.Sprintf("%s%04d", prefix, i)
		mod := start.Add(time.Duration(i) * time.Minute)
		created := mod.Add(-time.Hour)
		if i == 0 {
			created = mod
		}
		a["id"], a["modified"], a["created"] = id, mod.Format(time.RFC3339), created.Format(time.RFC3339)
		a["_eTag"] = fmt.Sprintf(`"%032d"`, i)
		raw, err := json.Marshal(a)
		if err != nil {
			f.t.Fatal(err)
		}
		f.applicants[customer] = append(f.applicants[customer], fakeApplicant{modified: mod, raw: raw})
		ids = append(ids, id)
	}
	slices.SortStableFunc(f.applicants[customer], func(a, b fakeApplicant) int { return a.modified.Compare(b.modified) })
	return ids
}

// set changes the fake's state under its lock.
func (f *fakeReapit) set(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

func (f *fakeReapit) revokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.issued)
}

func (f *fakeReapit) counts() (tokens int, fetches map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenRequests, maps.Clone(f.keyFetches)
}

func nonNil(s []json.RawMessage) []json.RawMessage {
	if s == nil {
		return []json.RawMessage{}
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func readFixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/applicant.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
