package sync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/state"
	lsync "github.com/leadsync/leadsync/sync"
	"github.com/leadsync/leadsync/sync/lead"
)

// crm is a pollable test provider: its webhook body {"id","etag","mod"} and
// its poll pages describe applicant versions, keyed as Reapit keys them (a
// webhook event key, a poll event key, and one version key for both).
type crm struct {
	mu       stdsync.Mutex
	records  []rec // what the API holds, in modified order
	failAt   int   // page number whose fetch fails (0 = none)
	polls    []time.Time
	polled   []string // the customer of each poll
	custs    []string // Customers(); nil = C1
	failWith error    // what the failing page returns; nil = a 503
}

type rec struct {
	ID, ETag string
	Mod      time.Time
	Cust     string `json:",omitempty"` // "" = C1
}

func (c *crm) Name() string                                     { return "crm" }
func (c *crm) Provider() string                                 { return "test" }
func (c *crm) Verify(context.Context, *providers.Request) error { return nil }
func (c *crm) Customers() []string {
	if c.custs != nil {
		return c.custs
	}
	return []string{"C1"}
}

func (c *crm) event(r rec, via, key string) lead.Event {
	cust := "C1"
	if r.Cust != "" {
		cust = r.Cust
	}
	l := &lead.Lead{Action: lead.ActionUpdated, Source: lead.Source{Name: "crm", Provider: "test", Entity: "applicant",
		EntityID: r.ID, CustomerID: &cust, EventType: r.ETag, Via: via}}
	ev := lead.Event{Key: key, VersionKey: lead.Key("crm", "C1", r.ID, r.ETag), EntityKey: lead.Key("crm", "C1", r.ID),
		Version: r.Mod, Status: lead.StatusAccepted, Lead: l}
	ev.Finish()
	return ev
}

func (c *crm) Parse(req *providers.Request) ([]lead.Event, error) {
	var r rec
	if err := json.Unmarshal(req.Body, &r); err != nil {
		return nil, err
	}
	return []lead.Event{c.event(r, lead.ViaWebhook, lead.Key("crm", "C1", "webhook", r.ID, r.ETag))}, nil
}

// Poll serves pages of two records modified at or after since.
func (c *crm) Poll(ctx context.Context, cust string, since time.Time, commit func(providers.Page) error) error {
	c.mu.Lock()
	c.polls = append(c.polls, since)
	c.polled = append(c.polled, cust)
	var todo []rec
	for _, r := range c.records {
		if !r.Mod.Before(since) {
			todo = append(todo, r)
		}
	}
	failAt := c.failAt
	if c.failWith == nil {
		c.failWith = providers.ErrUnavailable // a 503
	}
	c.mu.Unlock()
	for page := 1; len(todo) > 0; page++ {
		if page == failAt {
			return fmt.Errorf("page %d: %w", page, c.failWith)
		}
		n := min(2, len(todo))
		pg := providers.Page{Raw: []byte(`{"page":` + fmt.Sprint(page) + `}`)}
		for _, r := range todo[:n] {
			pg.Events = append(pg.Events, c.event(r, lead.ViaReconcile, lead.Key("crm", "C1", "poll", r.ID, r.ETag)))
			pg.MaxModified = r.Mod
		}
		todo = todo[n:]
		if err := commit(pg); err != nil {
			return err
		}
	}
	return nil
}

func TestReconcileFindsOnlyWhatWebhooksMissedAndResumes(t *testing.T) {
	rec1 := newRecorder()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	api := &crm{}
	for i := range 5 {
		api.records = append(api.records, rec{ID: fmt.Sprint("A", i), ETag: "e1", Mod: base.Add(time.Duration(i) * time.Minute)})
	}
	h := start(t, []lsync.SinkSpec{{Name: "rec", Sink: rec1, Delivery: fast}}, func(o *lsync.Options) {
		o.Sources = append(o.Sources, lsync.SourceSpec{Source: api, Overlap: 10 * time.Minute})
	})
	// The webhooks of A0 and A1 arrived; A2..A4 were missed.
	for _, r := range api.records[:2] {
		b, _ := json.Marshal(r)
		if code, m := post(t, h.url+"/webhooks/crm", b, nil); code != 200 || m["status"] != "accepted" {
			t.Fatalf("webhook: %d %v", code, m)
		}
	}
	rec1.wait(t, 2)

	// First run: page 2 fails (rate limit) after page 1 was committed.
	api.failAt = 2
	res, err := h.eng.Reconcile("crm", base.Add(-time.Minute))
	if err != nil || len(res) != 1 || res[0].Pages != 1 || res[0].Found != 0 || res[0].Error == "" {
		t.Fatalf("first run = %+v, %v", res, err)
	}
	cur, _ := h.store.Cursor("crm", "C1")
	if !cur.Equal(base.Add(time.Minute)) {
		t.Fatalf("cursor after page 1 = %v, want %v", cur, base.Add(time.Minute))
	}
	// Second run resumes from the cursor (minus overlap) and finds the three
	// missed applicants, and nothing twice.
	api.failAt = 0
	res, err = h.eng.Reconcile("crm", time.Time{})
	if err != nil || len(res) != 1 || res[0].Found != 3 || res[0].Error != "" {
		t.Fatalf("second run = %+v, %v", res, err)
	}
	if got := api.polls[1]; !got.Equal(cur.Add(-10 * time.Minute)) {
		t.Fatalf("second poll from %v, want cursor minus overlap %v", got, cur.Add(-10*time.Minute))
	}
	got := rec1.wait(t, 3)
	seen := map[string]bool{}
	for _, d := range got {
		if d.Lead.Source.Via != lead.ViaReconcile {
			t.Errorf("%s via %s, want reconcile", d.Lead.Source.EntityID, d.Lead.Source.Via)
		}
		seen[d.Lead.Source.EntityID] = true
	}
	if !seen["A2"] || !seen["A3"] || !seen["A4"] {
		t.Fatalf("reconcile delivered %v, want A2..A4", seen)
	}
	select {
	case d := <-rec1.arrived:
		t.Fatalf("extra delivery of %s", d.Lead.Source.EntityID)
	case <-time.After(100 * time.Millisecond):
	}
	// A webhook of an already polled version is a duplicate.
	b, _ := json.Marshal(api.records[4])
	if code, m := post(t, h.url+"/webhooks/crm", b, nil); code != 200 || m["status"] != "duplicate" {
		t.Fatalf("late webhook of a polled version: %d %v, want duplicate", code, m)
	}
	st, _ := h.eng.Status()
	if len(st.Reconcile) != 1 || st.Reconcile[0].Found != 3 || st.Reconcile[0].Cursor == nil {
		t.Fatalf("status.reconcile = %+v", st.Reconcile)
	}
}

// TestReconcileRateLimitEndsTheRun: a rate limit on one customer ends the
// run for the customers after it too, since the limit is the app's; they
// resume from their own cursors next run. A 5xx (which may be one customer's
// data) ends only that customer's.
func TestReconcileRateLimitEndsTheRun(t *testing.T) {
	api := &crm{custs: []string{"C1", "C2", "C3"}, failAt: 1, failWith: fmt.Errorf("429: %w", providers.ErrRateLimited),
		records: []rec{{ID: "A0", ETag: "e1", Mod: time.Now().Add(-time.Minute).Truncate(time.Second)}}}
	h := start(t, nil, func(o *lsync.Options) {
		o.Sources = append(o.Sources, lsync.SourceSpec{Source: api, Overlap: 10 * time.Minute})
	})
	res, err := h.eng.Reconcile("crm", time.Time{})
	if err != nil || len(res) != 3 {
		t.Fatalf("run = %+v, %v; want a result per customer", res, err)
	}
	if len(api.polls) != 1 {
		t.Fatalf("%d customers polled after the first was rate limited, want 1", len(api.polls))
	}
	if res[0].Customer != "C1" || res[0].Error == "" || res[1].Customer != "C2" || res[2].Customer != "C3" ||
		res[1].Pages != 0 || res[2].Error == "" {
		t.Fatalf("run = %+v, want C1 failed and C2, C3 skipped", res)
	}
	api.mu.Lock()
	api.failAt, api.failWith = 0, nil
	api.mu.Unlock()
	if res, err = h.eng.Reconcile("crm", time.Time{}); err != nil || len(res) != 3 || res[2].Error != "" {
		t.Fatalf("next run = %+v, %v; want every customer polled", res, err)
	}
	api.mu.Lock()
	api.failAt, api.polls = 1, nil // a 503 on every customer's first page
	api.mu.Unlock()
	if res, err = h.eng.Reconcile("crm", time.Time{}); err != nil || len(res) != 3 || len(api.polls) != 3 {
		t.Fatalf("run with a 5xx = %+v, %v, %d polls; want every customer tried", res, err, len(api.polls))
	}
}

// A source whose customers: is empty accepts every customer's webhooks, and polls the customers that have sent one: the API lists none.
// A new customer's first webhook leaves a cursor, so the store remembers it,
// and a restarted daemon polls it too.
func TestReconcileLearnsCustomersFromWebhooks(t *testing.T) {
	api := &crm{custs: []string{}}
	var st *state.Store
	h := start(t, nil, func(o *lsync.Options) {
		o.Sources = append(o.Sources, lsync.SourceSpec{Source: api, Overlap: 10 * time.Minute, Reconcile: "@every 1000h"})
		st = o.Store
	})
	if res, err := h.eng.Reconcile("crm", time.Time{}); err != nil || len(res) != 0 || len(api.polled) != 0 {
		t.Fatalf("run before any webhook = %+v, %v, polled %v; want nothing", res, err, api.polled)
	}
	before := time.Now()
	for _, r := range []rec{{ID: "A0", ETag: "e1", Cust: "ACME"}, {ID: "A1", ETag: "e1", Cust: "ACME"},
		{ID: "B0", ETag: "e1", Cust: "BETA"}} {
		r.Mod = time.Now()
		b, _ := json.Marshal(r)
		if code, m := post(t, h.url+"/webhooks/crm", b, nil); code != 200 {
			t.Fatalf("webhook: %d %v", code, m)
		}
	}
	if cur, err := h.store.Cursor("crm", "ACME"); err != nil || cur.Before(before.Add(-time.Second)) {
		t.Fatalf("cursor of a new customer = %v, %v; want its first webhook's time", cur, err)
	}
	res, err := h.eng.Reconcile("crm", time.Time{})
	if err != nil || len(res) != 2 || res[0].Customer != "ACME" || res[1].Customer != "BETA" {
		t.Fatalf("run = %+v, %v; want ACME and BETA", res, err)
	}
	if len(api.polled) != 2 || api.polled[0] != "ACME" || api.polled[1] != "BETA" {
		t.Fatalf("polled %v", api.polled)
	}
	// Another engine on the same store (a restart) knows them from their
	// cursors before any webhook.
	e2, err := lsync.New(lsync.Options{Store: st, Sources: []lsync.SourceSpec{{Source: api, Overlap: 10 * time.Minute, Reconcile: "@every 1000h"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e2.Reconcile("", time.Time{}); err != nil || len(res) != 2 || res[0].Customer != "ACME" || res[1].Customer != "BETA" {
		t.Fatalf("run after a restart = %+v, %v", res, err)
	}
}

// `reconcile` without a source runs only the sources with a schedule; a
// pollable source without one runs only when named.
func TestReconcileWithoutASourceRunsTheScheduledOnes(t *testing.T) {
	api := &crm{}
	h := start(t, nil, func(o *lsync.Options) {
		o.Sources = append(o.Sources, lsync.SourceSpec{Source: api, Overlap: 10 * time.Minute})
	})
	if _, err := h.eng.Reconcile("", time.Time{}); err == nil || !strings.Contains(err.Error(), "no source has a reconcile: schedule; run one once with --source (crm)") {
		t.Fatalf("reconcile of every scheduled source, with none: %v", err)
	}
	if res, err := h.eng.Reconcile("crm", time.Time{}); err != nil || len(res) != 1 {
		t.Fatalf("reconcile --source crm: %+v, %v", res, err)
	}
}

// TestReconcileFirstEmptyRunSavesItsCursor: a customer's first run that
// finds nothing still saves a cursor (its start), so the next run starts
// from there rather than from its own now − overlap, which skipped what
// changed between the two runs.
func TestReconcileFirstEmptyRunSavesItsCursor(t *testing.T) {
	rec1 := newRecorder()
	api := &crm{}
	h := start(t, []lsync.SinkSpec{{Name: "rec", Sink: rec1, Delivery: fast}}, func(o *lsync.Options) {
		o.Sources = append(o.Sources, lsync.SourceSpec{Source: api, Overlap: time.Millisecond})
	})
	before := time.Now()
	if res, err := h.eng.Reconcile("crm", time.Time{}); err != nil || res[0].Seen != 0 {
		t.Fatalf("first run = %+v, %v", res, err)
	}
	cur, _ := h.store.Cursor("crm", "C1")
	if cur.Before(before) {
		t.Fatalf("cursor after an empty first run = %v, want its start (after %v)", cur, before)
	}
	// Changed after the first run, and more than the overlap before the
	// second.
	api.mu.Lock()
	api.records = append(api.records, rec{ID: "B1", ETag: "e1", Mod: time.Now()})
	api.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	res, err := h.eng.Reconcile("crm", time.Time{})
	if err != nil || res[0].Found != 1 {
		t.Fatalf("second run = %+v, %v; want B1 found (polled from %v)", res, err, api.polls)
	}
	rec1.wait(t, 1)
}
