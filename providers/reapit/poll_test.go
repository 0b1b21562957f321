package reapit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/reapit"
	"github.com/leadsync/leadsync/sync/lead"
	"github.com/leadsync/leadsync/sync/lead/leadtest"
)

var pollStart = time.Date(2024, 4, 1, 8, 0, 0, 0, time.UTC)

// collect returns a commit func that keeps the pages, failing with err
// from page failAt on (0 = never).
func collect(pages *[]providers.Page, failAt int, err error) func(providers.Page) error {
	return func(p providers.Page) error {
		if failAt > 0 && len(*pages)+1 >= failAt {
			return err
		}
		*pages = append(*pages, p)
		return nil
	}
}

func TestPollPages(t *testing.T) {
	f := newFake(t)
	ids := f.addApplicants("OXF", "OXF2", 250, pollStart)
	src := newSource(t, f.config(newClock().Now))
	var pages []providers.Page
	if err := src.Poll(context.Background(), "OXF", pollStart, collect(&pages, 0, nil)); err != nil {
		t.Fatalf("Poll = %v", err)
	}
	if len(pages) != 3 || len(pages[0].Events) != 100 || len(pages[1].Events) != 100 || len(pages[2].Events) != 50 {
		t.Fatalf("pages = %d", len(pages))
	}
	var seen []string
	for i, p := range pages {
		last := pollStart.Add(time.Duration(min(100*(i+1), 250)-1) * time.Minute)
		if !p.MaxModified.Equal(last) {
			t.Errorf("page %d MaxModified = %s, want %s", i+1, p.MaxModified, last)
		}
		var raw struct{ PageNumber, TotalPageCount int }
		if err := json.Unmarshal(p.Raw, &raw); err != nil || raw.PageNumber != i+1 || raw.TotalPageCount != 3 {
			t.Errorf("page %d Raw = %+v, %v", i+1, raw, err)
		}
		for _, ev := range p.Events {
			checkPollEvent(t, ev, "OXF")
			seen = append(seen, ev.Lead.Source.EntityID)
		}
	}
	if fmt.Sprint(seen) != fmt.Sprint(ids) {
		t.Errorf("applicants seen out of order or missing")
	}
	first := pages[0].Events[0].Lead
	if first.Action != lead.ActionCreated || first.Source.EventType != reapit.TopicApplicantsCreated {
		t.Errorf("created == modified: action %s, event_type %s", first.Action, first.Source.EventType)
	}
	if l := pages[0].Events[1].Lead; l.Action != lead.ActionUpdated || l.Source.EventType != reapit.TopicApplicantsModified {
		t.Errorf("created < modified: action %s, event_type %s", l.Action, l.Source.EventType)
	}
	f.mu.Lock()
	q := f.pageRequests[0]
	f.mu.Unlock()
	if want := "modifiedFrom=2024-04-01T08%3A00%3A00Z&pageNumber=1&pageSize=100&sortBy=modified"; q != want {
		t.Errorf("query = %s, want %s", q, want)
	}
}

func checkPollEvent(t *testing.T, ev lead.Event, customer string) {
	t.Helper()
	l := ev.Lead
	if ev.Status != lead.StatusAccepted || l == nil || ev.VersionKey == "" || ev.Version.IsZero() {
		t.Fatalf("event = %+v", ev)
	}
	if want := lead.Key("reapit", customer, "applicant", l.Source.EntityID); ev.EntityKey != want {
		t.Errorf("EntityKey = %q, want %q", ev.EntityKey, want)
	}
	if !strings.HasPrefix(ev.Key, lead.Key("reapit", customer, "poll", l.Source.EntityID)) {
		t.Errorf("Key = %q", ev.Key)
	}
	if l.Source.Via != lead.ViaReconcile || *l.Source.CustomerID != customer || l.Test != (customer == "SBOX") {
		t.Errorf("lead source = %+v, test %v", l.Source, l.Test)
	}
	wire, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	leadtest.Validate(t, wire)
}

func TestPollSinceAndEmpty(t *testing.T) {
	f := newFake(t)
	f.addApplicants("OXF", "OXF2", 250, pollStart)
	f.set(func() { f.applicants["SBOX"] = nil })
	src := newSource(t, f.config(newClock().Now))
	var pages []providers.Page
	// Sub-second cursors round down: modifiedFrom is inclusive.
	since := pollStart.Add(150*time.Minute + 500*time.Millisecond)
	if err := src.Poll(context.Background(), "OXF", since, collect(&pages, 0, nil)); err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 || len(pages[0].Events) != 100 || pages[0].Events[0].Lead.Source.EntityID != "OXF20150" {
		t.Fatalf("pages = %+v", pages)
	}
	pages = nil
	if err := src.Poll(context.Background(), "SBOX", time.Time{}, collect(&pages, 0, nil)); err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 || len(pages[0].Events) != 0 || !pages[0].MaxModified.IsZero() {
		t.Fatalf("empty customer: pages = %+v", pages)
	}
	f.mu.Lock()
	last := f.pageRequests[len(f.pageRequests)-1]
	f.mu.Unlock()
	if strings.Contains(last, "modifiedFrom") {
		t.Errorf("zero since sent modifiedFrom: %s", last)
	}
}

// TestPollRateLimited: a 429 in the middle returns ErrUnavailable after the
// pages before it were committed, and the next run resumes from the cursor.
func TestPollRateLimited(t *testing.T) {
	for _, status := range []int{429, 500, 503} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := newFake(t)
			f.addApplicants("OXF", "OXF2", 250, pollStart)
			f.set(func() { f.fail[2] = status })
			src := newSource(t, f.config(newClock().Now))
			var pages []providers.Page
			err := src.Poll(context.Background(), "OXF", pollStart, collect(&pages, 0, nil))
			if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), fmt.Sprintf("page 2: GET /applicants/ answered %d", status)) {
				t.Fatalf("Poll = %v, want ErrUnavailable on page 2", err)
			}
			if status == 429 && !strings.Contains(err.Error(), "Retry-After 1") {
				t.Errorf("Poll = %v, want the Retry-After", err)
			}
			if len(pages) != 1 {
				t.Fatalf("committed %d pages before the failure, want 1", len(pages))
			}
			cursor := pages[0].MaxModified
			var resumed []providers.Page
			if err := src.Poll(context.Background(), "OXF", cursor, collect(&resumed, 0, nil)); err != nil {
				t.Fatalf("resumed Poll = %v", err)
			}
			got := map[string]bool{}
			for _, p := range append(pages, resumed...) {
				for _, ev := range p.Events {
					got[ev.Lead.Source.EntityID] = true
				}
			}
			if len(got) != 250 {
				t.Errorf("saw %d distinct applicants over both runs, want 250", len(got))
			}
		})
	}
}

func TestPollOtherErrors(t *testing.T) {
	f := newFake(t)
	f.addApplicants("OXF", "OXF2", 150, pollStart)
	src := newSource(t, f.config(newClock().Now))
	ctx := context.Background()

	f.set(func() { f.fail[1] = 403 })
	err := src.Poll(ctx, "OXF", pollStart, collect(new([]providers.Page), 0, nil))
	if err == nil || errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "403 Forbidden") {
		t.Errorf("403: Poll = %v, want a plain error", err)
	}

	stop := errors.New("disk full")
	var pages []providers.Page
	if err := src.Poll(ctx, "OXF", pollStart, collect(&pages, 1, stop)); !errors.Is(err, stop) {
		t.Errorf("commit error: Poll = %v, want it returned", err)
	}
	f.mu.Lock()
	n := len(f.pageRequests)
	f.mu.Unlock()
	if n != 2 || len(pages) != 0 {
		t.Errorf("after a commit error: %d page requests in all, %d pages kept; want 2, 0", n, len(pages))
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := src.Poll(cctx, "OXF", pollStart, collect(new([]providers.Page), 0, nil)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: Poll = %v", err)
	}
	if err := src.Poll(ctx, "", pollStart, nil); err == nil {
		t.Error("Poll without a customer succeeded")
	}
	cfg := f.config(newClock().Now)
	cfg.ClientSecret, cfg.PublicKeys = "", map[string]string{testKid: b64(testPub)}
	if err := newSource(t, cfg).Poll(ctx, "OXF", pollStart, nil); err == nil || !strings.Contains(err.Error(), "client_secret") {
		t.Errorf("Poll without credentials = %v", err)
	}
}

// TestWebhookAndPollAreOneEvent: the webhook of a change and the poll of the
// same version share version key, entity key and version, but not the
// event key, and map to the same lead apart from how it came.
func TestWebhookAndPollAreOneEvent(t *testing.T) {
	f := newFake(t)
	f.addApplicants("OXF", "OXF2", 2, pollStart)
	src := newSource(t, f.config(newClock().Now))
	var pages []providers.Page
	if err := src.Poll(context.Background(), "OXF", time.Time{}, collect(&pages, 0, nil)); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	raws := []json.RawMessage{f.applicants["OXF"][0].raw, f.applicants["OXF"][1].raw}
	f.mu.Unlock()
	for i, topic := range []string{reapit.TopicApplicantsCreated, reapit.TopicApplicantsModified} {
		body := fmt.Appendf(nil, `{"eventId":"e%d","entityId":"OXF2000%d","customerId":"OXF","eventTime":"2024-04-01T08:0%d:00.5Z","topicId":%q,"new":%s,"old":null}`,
			i, i, i, topic, raws[i])
		evs, err := src.Parse(request(body))
		if err != nil {
			t.Fatal(err)
		}
		hook, poll := evs[0], pages[0].Events[i]
		if hook.VersionKey != poll.VersionKey || hook.EntityKey != poll.EntityKey || !hook.Version.Equal(poll.Version) {
			t.Errorf("%s: webhook %q %q %s, poll %q %q %s", topic, hook.VersionKey, hook.EntityKey, hook.Version,
				poll.VersionKey, poll.EntityKey, poll.Version)
		}
		if hook.Key == poll.Key {
			t.Errorf("%s: webhook and poll share the event key %q", topic, hook.Key)
		}
		h, p := *hook.Lead, *poll.Lead
		if h.ID != p.ID || h.Action != p.Action || h.Source.EventType != p.Source.EventType {
			t.Errorf("%s: webhook %s %s %s, poll %s %s %s", topic, h.ID, h.Action, h.Source.EventType, p.ID, p.Action, p.Source.EventType)
		}
		h.EventID, h.Source.Via, h.OccurredAt, h.ReceivedAt = p.EventID, p.Source.Via, p.OccurredAt, p.ReceivedAt
		hj, _ := json.Marshal(h)
		pj, _ := json.Marshal(p)
		if !bytes.Equal(hj, pj) {
			t.Errorf("%s: leads differ:\n%s\n%s", topic, hj, pj)
		}
	}
}

// TestContactChangeIsANewVersion: applicants.modified fired by a related
// contact's change, with the applicant's _eTag unchanged, is a new version.
func TestContactChangeIsANewVersion(t *testing.T) {
	src := newSource(t, staticConfig())
	fixture := string(readFixture(t))
	mk := func(app string) lead.Event {
		body := fmt.Appendf(nil, `{"eventId":"e","entityId":"OXF200060","customerId":"OXF","eventTime":"2024-04-01T08:00:00Z","topicId":"applicants.modified","new":%s}`, app)
		evs, err := src.Parse(request(body))
		if err != nil || len(evs) != 1 {
			t.Fatal(evs, err)
		}
		return evs[0]
	}
	a := mk(fixture)
	b := mk(strings.Replace(fixture, "07890 123456", "07890 999999", 1))
	c := mk(strings.Replace(fixture, `"statusId": "ACT"`, `"statusId": "XYZ"`, 1)) // not mapped
	if a.VersionKey == b.VersionKey {
		t.Error("a contact's new phone number did not change the version key")
	}
	if a.VersionKey != c.VersionKey {
		t.Error("an unmapped field changed the version key")
	}
}

// TestTokenReuseAndRefresh: one token serves calls until 60s before it
// expires; a 401 refreshes it once and retries; concurrent callers share
// one refresh.
func TestTokenReuseAndRefresh(t *testing.T) {
	f := newFake(t)
	f.set(func() { f.applicants["OXF"] = nil })
	clk := newClock()
	src := newSource(t, f.config(clk.Now))
	ctx := context.Background()
	poll := func() {
		t.Helper()
		if err := src.Poll(ctx, "OXF", time.Time{}, collect(new([]providers.Page), 0, nil)); err != nil {
			t.Fatalf("Poll = %v", err)
		}
	}
	wantTokens := func(n int) {
		t.Helper()
		if got, _ := f.counts(); got != n {
			t.Errorf("token requests = %d, want %d", got, n)
		}
	}
	poll()
	clk.Advance(3539 * time.Second)
	poll()
	wantTokens(1)
	clk.Advance(2 * time.Second) // 59s before expiry: refresh
	poll()
	wantTokens(2)
	f.revokeTokens()
	poll()
	wantTokens(3)

	f.revokeTokens()
	gate := make(chan struct{})
	f.mu.Lock()
	f.tokenGate = gate
	f.mu.Unlock()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(poll)
	}
	time.Sleep(50 * time.Millisecond)
	f.mu.Lock()
	f.tokenGate = nil
	f.mu.Unlock()
	close(gate)
	wg.Wait()
	wantTokens(4)
}

// TestRateLimit: back-to-back calls stay under Reapit's 20 a second (the
// fake fails the test otherwise) and are paced, not refused.
func TestRateLimit(t *testing.T) {
	f := newFake(t)
	f.set(func() { f.applicants["OXF"] = nil })
	src := newSource(t, f.config(newClock().Now))
	start := time.Now()
	for range 25 {
		if err := src.Poll(context.Background(), "OXF", time.Time{}, collect(new([]providers.Page), 0, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 1900*time.Millisecond {
		t.Errorf("25 calls took %s, want ≥ 2s at 10/s after a burst of 5", d)
	}
}

func TestCustomers(t *testing.T) {
	src := newSource(t, staticConfig())
	got := src.Customers()
	got[0] = "changed"
	if fmt.Sprint(src.Customers()) != "[OXF RPT SBOX]" {
		t.Errorf("Customers() = %v", src.Customers())
	}
}
