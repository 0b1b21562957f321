package pipedrive_test

// A fake Pipedrive company: it checks every request against the documented
// contract of the endpoints the sink uses (x-api-token header, paths,
// methods, strict bodies with their required keys, exact-match search),
// keeps persons, leads and notes so that repeats can be counted, and
// enforces a rate limit with Pipedrive's 429 and x-ratelimit-* headers. It is
// a sinktest.Peer; its answer applies to every request.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/leadsync/leadsync/sinks/sinktest"
)

const testToken = "3f1c9a7e5b2d4c6e8a0b1d3f5e7a9c2b4d6f8e0a"

type value struct {
	Value   string `json:"value"`
	Primary bool   `json:"primary"`
	Label   string `json:"label"`
}

type fPerson struct {
	ID     int64   `json:"id"`
	Name   string  `json:"name"`
	Emails []value `json:"emails"`
	Phones []value `json:"phones"`
}

type fLead struct {
	ID       string         `json:"id"`
	Title    string         `json:"title"`
	PersonID int64          `json:"person_id"`
	OriginID string         `json:"origin_id"`
	Fields   map[string]any `json:"fields"` // every other key sent
	archived bool
}

type fNote struct {
	ID      int64  `json:"id"`
	LeadID  string `json:"lead_id"`
	Content string `json:"content"`
}

type fakePipedrive struct {
	srv  *httptest.Server
	mux  *http.ServeMux
	done chan struct{}

	mu         sync.Mutex
	answer     sinktest.Answer
	limit      int // requests per window; 0: none
	window     time.Duration
	stamps     []time.Time
	limited    int
	dailyLeft  int            // writes left today; -1: no daily budget
	fail       map[string]int // "METHOD /path" → 500s still to give
	noArchived bool           // an API without /v1/leads/archived
	persons    map[int64]*fPerson
	leads      []*fLead
	notes      []*fNote
	received   []sinktest.Received
	requests   int
	violations []error
}

var _ sinktest.Peer = (*fakePipedrive)(nil)

func newFake(t testing.TB) *fakePipedrive {
	f := &fakePipedrive{done: make(chan struct{}), persons: map[int64]*fPerson{}, fail: map[string]int{}, dailyLeft: -1}
	f.mux = http.NewServeMux()
	f.mux.HandleFunc("GET /api/v2/persons/search", f.searchPersons)
	f.mux.HandleFunc("POST /api/v2/persons", f.createPerson)
	f.mux.HandleFunc("GET /api/v2/persons/{id}", f.getPerson)
	f.mux.HandleFunc("PATCH /api/v2/persons/{id}", f.patchPerson)
	f.mux.HandleFunc("GET /v1/leads", f.listLeads(false))
	f.mux.HandleFunc("GET /v1/leads/archived", f.listLeads(true))
	f.mux.HandleFunc("POST /v1/leads", f.createLead)
	f.mux.HandleFunc("GET /v1/notes", f.listNotes)
	f.mux.HandleFunc("POST /v1/notes", f.createNote)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.done) })
	return f
}

// serve applies what holds for every endpoint (auth, answer, rate limit),
// then routes.
func (f *fakePipedrive) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var errs []error
	if r.Header.Get("x-api-token") != testToken {
		errs = append(errs, errors.New("x-api-token is not the token"))
	}
	if r.URL.Query().Has("api_token") {
		errs = append(errs, errors.New("token in the URL"))
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "leadsync/") {
		errs = append(errs, fmt.Errorf("user-agent %q", ua))
	}
	if len(body) > 0 && r.Header.Get("Content-Type") != "application/json" {
		errs = append(errs, fmt.Errorf("content-type %q", r.Header.Get("Content-Type")))
	}
	f.mu.Lock()
	f.requests++
	f.violations = append(f.violations, errs...)
	a := f.answer
	key := r.Method + " " + r.URL.Path
	failing := f.fail[key] > 0
	if failing {
		f.fail[key]--
	}
	f.mu.Unlock()
	echo := fmt.Sprintf("you sent %v", r.Header)
	switch {
	case len(errs) > 0:
		pdError(w, http.StatusUnauthorized, "unauthorized access: "+errors.Join(errs...).Error()+"; "+echo)
	case a == sinktest.Hang:
		select {
		case <-r.Context().Done():
		case <-f.done:
		}
	case a == sinktest.Unavailable, failing:
		pdError(w, http.StatusServiceUnavailable, "service unavailable; "+echo)
	case a == sinktest.RateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(int(sinktest.PeerRetryAfter.Seconds())))
		pdError(w, http.StatusTooManyRequests, "Request over limit; "+echo)
	case a == sinktest.BadRequest:
		pdError(w, http.StatusBadRequest, "Bad request; "+echo)
	case !f.allow(w, r.Method):
	default:
		f.mux.ServeHTTP(w, r)
	}
}

// allow applies the rate limit and the daily budget of writes.
func (f *fakePipedrive) allow(w http.ResponseWriter, method string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := w.Header()
	if f.dailyLeft >= 0 && method != http.MethodGet {
		if f.dailyLeft == 0 {
			h.Set("x-daily-requests-left", "0")
			f.limited++
			pdError(w, http.StatusTooManyRequests, "Request over limit")
			return false
		}
		f.dailyLeft--
		h.Set("x-daily-requests-left", strconv.Itoa(f.dailyLeft))
	}
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
	h.Set("x-ratelimit-limit", strconv.Itoa(f.limit))
	h.Set("x-ratelimit-reset", strconv.Itoa(int(f.window.Seconds())))
	if len(f.stamps) >= f.limit {
		f.limited++
		h.Set("x-ratelimit-remaining", "0")
		pdError(w, http.StatusTooManyRequests, "Request over limit")
		return false
	}
	f.stamps = append(f.stamps, now)
	h.Set("x-ratelimit-remaining", strconv.Itoa(f.limit-len(f.stamps)))
	return true
}

// violation records a broken contract and answers 400 as Pipedrive would.
func (f *fakePipedrive) violation(w http.ResponseWriter, format string, args ...any) {
	err := fmt.Errorf(format, args...)
	f.mu.Lock()
	f.violations = append(f.violations, err)
	f.mu.Unlock()
	pdError(w, http.StatusBadRequest, err.Error())
}

// decode reads a JSON body strictly.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

var (
	emailLabels = map[string]bool{"work": true, "home": true, "other": true}
	phoneLabels = map[string]bool{"work": true, "home": true, "mobile": true, "other": true}
)

func checkValues(kind string, vs []value, labels map[string]bool) error {
	primaries := 0
	for _, v := range vs {
		if v.Value == "" || !labels[v.Label] {
			return fmt.Errorf("%s: value %q label %q", kind, v.Value, v.Label)
		}
		if v.Primary {
			primaries++
		}
	}
	if len(vs) > 0 && primaries != 1 {
		return fmt.Errorf("%s: %d primary values, want 1", kind, primaries)
	}
	return nil
}

func (f *fakePipedrive) searchPersons(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	term, field := q.Get("term"), q.Get("fields")
	if term == "" || (field != "email" && field != "phone") || q.Get("exact_match") != "true" {
		f.violation(w, "search: want term, fields=email|phone, exact_match=true: %s", r.URL.RawQuery)
		return
	}
	type item struct {
		ID     int64    `json:"id"`
		Type   string   `json:"type"`
		Name   string   `json:"name"`
		Emails []string `json:"emails"`
		Phones []string `json:"phones"`
	}
	var items []map[string]any
	f.mu.Lock()
	for id := int64(1); id <= int64(len(f.persons)); id++ {
		p := f.persons[id]
		if p == nil || !matches(p, field, term) {
			continue
		}
		it := item{ID: p.ID, Type: "person", Name: p.Name, Emails: []string{}, Phones: []string{}}
		for _, e := range p.Emails {
			it.Emails = append(it.Emails, e.Value)
		}
		for _, ph := range p.Phones {
			it.Phones = append(it.Phones, ph.Value)
		}
		items = append(items, map[string]any{"result_score": 1, "item": it})
	}
	f.mu.Unlock()
	if items == nil {
		items = []map[string]any{}
	}
	pdOK(w, map[string]any{"items": items}, map[string]any{"next_cursor": nil})
}

func matches(p *fPerson, field, term string) bool {
	if field == "email" {
		for _, e := range p.Emails {
			if strings.EqualFold(e.Value, term) {
				return true
			}
		}
		return false
	}
	for _, ph := range p.Phones {
		if digitsOf(ph.Value) == digitsOf(term) {
			return true
		}
	}
	return false
}

func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

func (f *fakePipedrive) createPerson(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name   string  `json:"name"`
		Emails []value `json:"emails"`
		Phones []value `json:"phones"`
	}
	if err := decode(r, &in); err != nil || in.Name == "" {
		f.violation(w, "create person: name required, no unknown keys: %v", err)
		return
	}
	if err := errors.Join(checkValues("emails", in.Emails, emailLabels), checkValues("phones", in.Phones, phoneLabels)); err != nil {
		f.violation(w, "create person: %v", err)
		return
	}
	f.mu.Lock()
	p := &fPerson{ID: int64(len(f.persons) + 1), Name: in.Name, Emails: in.Emails, Phones: in.Phones}
	f.persons[p.ID] = p
	f.mu.Unlock()
	pdOK(w, p, nil)
}

func (f *fakePipedrive) person(w http.ResponseWriter, r *http.Request) *fPerson {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	f.mu.Lock()
	p := f.persons[id]
	f.mu.Unlock()
	if p == nil {
		pdError(w, http.StatusNotFound, "Person not found")
	}
	return p
}

func (f *fakePipedrive) getPerson(w http.ResponseWriter, r *http.Request) {
	if p := f.person(w, r); p != nil {
		f.mu.Lock()
		defer f.mu.Unlock()
		pdOK(w, p, nil)
	}
}

func (f *fakePipedrive) patchPerson(w http.ResponseWriter, r *http.Request) {
	p := f.person(w, r)
	if p == nil {
		return
	}
	var in struct {
		Name   *string  `json:"name"`
		Emails *[]value `json:"emails"`
		Phones *[]value `json:"phones"`
	}
	if err := decode(r, &in); err != nil {
		f.violation(w, "update person: %v", err)
		return
	}
	var errs []error
	if in.Emails != nil {
		errs = append(errs, checkValues("emails", *in.Emails, emailLabels))
	}
	if in.Phones != nil {
		errs = append(errs, checkValues("phones", *in.Phones, phoneLabels))
	}
	if err := errors.Join(errs...); err != nil {
		f.violation(w, "update person: %v", err)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.Name != nil {
		p.Name = *in.Name
	}
	if in.Emails != nil {
		p.Emails = *in.Emails
	}
	if in.Phones != nil {
		p.Phones = *in.Phones
	}
	pdOK(w, p, nil)
}

// page applies limit and start, as the v1 list endpoints do.
func page[T any](w http.ResponseWriter, r *http.Request, all []T) {
	start, _ := strconv.Atoi(r.URL.Query().Get("start"))
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 {
		limit = 100
	}
	limit = min(limit, 500)
	start = min(start, len(all))
	end := min(start+limit, len(all))
	more := end < len(all)
	pdOK(w, all[start:end], map[string]any{"pagination": map[string]any{
		"start": start, "limit": limit, "more_items_in_collection": more, "next_start": end}})
}

func (f *fakePipedrive) listLeads(archived bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		if archived && f.noArchived {
			f.mu.Unlock()
			pdError(w, http.StatusNotFound, "Unknown method .")
			return
		}
		pid, _ := strconv.ParseInt(r.URL.Query().Get("person_id"), 10, 64)
		var out []fLead
		for _, l := range f.leads {
			if l.archived == archived && (pid == 0 || l.PersonID == pid) {
				out = append(out, *l)
			}
		}
		f.mu.Unlock()
		page(w, r, out)
	}
}

// leadKeys are the standard keys a lead takes besides title, person_id and
// origin_id, with a check of their JSON type.
var leadKeys = map[string]func(json.RawMessage) bool{
	"owner_id":            isInt,
	"organization_id":     isInt,
	"channel":             isInt,
	"label_ids":           func(b json.RawMessage) bool { var v []string; return json.Unmarshal(b, &v) == nil },
	"was_seen":            func(b json.RawMessage) bool { var v bool; return json.Unmarshal(b, &v) == nil },
	"visible_to":          isString,
	"channel_id":          isString,
	"expected_close_date": isString,
}

var customKey = regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString

func isInt(b json.RawMessage) bool    { var v int64; return json.Unmarshal(b, &v) == nil }
func isString(b json.RawMessage) bool { var v string; return json.Unmarshal(b, &v) == nil }

func (f *fakePipedrive) createLead(w http.ResponseWriter, r *http.Request) {
	var in map[string]json.RawMessage
	if err := decode(r, &in); err != nil {
		f.violation(w, "create lead: %v", err)
		return
	}
	l := &fLead{Fields: map[string]any{}}
	if json.Unmarshal(in["title"], &l.Title) != nil || l.Title == "" ||
		json.Unmarshal(in["person_id"], &l.PersonID) != nil || json.Unmarshal(in["origin_id"], &l.OriginID) != nil {
		f.violation(w, "create lead: want title, person_id and origin_id: %s", in)
		return
	}
	for k, v := range in {
		switch check := leadKeys[k]; {
		case k == "title" || k == "person_id" || k == "origin_id":
			continue
		case check == nil && !customKey(k):
			f.violation(w, "create lead: unknown field %q", k)
			return
		case check != nil && !check(v):
			f.violation(w, "create lead: %s: wrong type %s", k, v)
			return
		}
		var x any
		_ = json.Unmarshal(v, &x)
		l.Fields[k] = x
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.persons[l.PersonID]
	if p == nil {
		pdError(w, http.StatusBadRequest, "person_id: person not found")
		return
	}
	l.ID = fmt.Sprintf("adf21080-0e10-11eb-879b-%012d", len(f.leads)+1)
	f.leads = append(f.leads, l)
	rec, _ := json.Marshal(map[string]any{"lead": l, "person": p})
	f.received = append(f.received, sinktest.Received{Body: rec})
	pdOK(w, l, nil)
}

func (f *fakePipedrive) listNotes(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("lead_id")
	f.mu.Lock()
	var out []fNote
	for _, n := range f.notes {
		if id == "" || n.LeadID == id {
			out = append(out, *n)
		}
	}
	f.mu.Unlock()
	page(w, r, out)
}

func (f *fakePipedrive) createNote(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Content string `json:"content"`
		LeadID  string `json:"lead_id"`
	}
	if err := decode(r, &in); err != nil || in.Content == "" || in.LeadID == "" {
		f.violation(w, "add note: want content and lead_id: %v", err)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	found := false
	for _, l := range f.leads {
		found = found || l.ID == in.LeadID
	}
	if !found {
		pdError(w, http.StatusBadRequest, "lead_id: lead not found")
		return
	}
	n := &fNote{ID: int64(len(f.notes) + 1), LeadID: in.LeadID, Content: in.Content}
	f.notes = append(f.notes, n)
	pdOK(w, n, nil)
}

func pdOK(w http.ResponseWriter, data, additional any) {
	out := map[string]any{"success": true, "data": data}
	if additional != nil {
		out["additional_data"] = additional
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func pdError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]any{"success": false, "error": msg, "errorCode": status})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (f *fakePipedrive) Addr() string { return f.srv.URL }

func (f *fakePipedrive) Answer(a sinktest.Answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = a
}

func (f *fakePipedrive) Received() []sinktest.Received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sinktest.Received(nil), f.received...)
}

func (f *fakePipedrive) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func (f *fakePipedrive) Violations() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.violations...)
}

// state is a snapshot of the company's records.
type state struct {
	persons []fPerson
	leads   []fLead
	notes   []fNote
}

func (f *fakePipedrive) state() state {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s state
	for id := int64(1); id <= int64(len(f.persons)); id++ {
		s.persons = append(s.persons, *f.persons[id])
	}
	for _, l := range f.leads {
		s.leads = append(s.leads, *l)
	}
	for _, n := range f.notes {
		s.notes = append(s.notes, *n)
	}
	return s
}

// with runs fn under the fake's lock, to script it.
func (f *fakePipedrive) with(fn func(f *fakePipedrive)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}
