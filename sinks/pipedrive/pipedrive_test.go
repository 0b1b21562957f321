package pipedrive_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/pipedrive"
	"github.com/leadsync/leadsync/sinks/sinktest"
	"github.com/leadsync/leadsync/sync/lead"
)

func newSink(t *testing.T, url string, mod ...func(*pipedrive.Config)) *pipedrive.Sink {
	t.Helper()
	c := pipedrive.Config{Name: "pipedrive", Token: testToken, APIURL: url, Logger: slog.New(slog.DiscardHandler)}
	for _, m := range mod {
		m(&c)
	}
	s, err := pipedrive.New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// same checks that a created Pipedrive lead is d's: origin_id, title, and
// a person with d's email.
func same(d sinks.Delivery, r sinktest.Received) error {
	var got struct {
		Lead   fLead   `json:"lead"`
		Person fPerson `json:"person"`
	}
	if err := json.Unmarshal(r.Body, &got); err != nil {
		return err
	}
	l := d.Lead
	if got.Lead.OriginID != l.ID {
		return fmt.Errorf("origin_id %q, want %q", got.Lead.OriginID, l.ID)
	}
	if want := "Åsa Öberg: buy (hemnet)"; got.Lead.Title != want {
		return fmt.Errorf("title %q, want %q", got.Lead.Title, want)
	}
	if got.Person.Name != *l.Person.FullName || len(got.Person.Emails) == 0 || got.Person.Emails[0].Value != *l.Person.Email {
		return fmt.Errorf("person %+v is not %s", got.Person, *l.Person.Email)
	}
	return nil
}

func TestAcceptance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		NewPeer: func(t *testing.T) sinktest.Peer { return newFake(t) },
		New: func(t *testing.T, peer sinktest.Peer) sinks.Sink {
			return newSink(t, peer.Addr())
		},
		Same:    same,
		Secrets: []string{testToken},
	})
}

// update returns a later version of Sample(n): a new event of the same lead.
func update(n int, mod func(l *lead.Lead)) sinks.Delivery {
	d := sinktest.Sample(n)
	d.ID, d.Lead.EventID, d.Lead.Action = "msg_update", "ev_update", lead.ActionUpdated
	mod(d.Lead)
	d.Body, _ = d.Lead.Marshal()
	return d
}

func TestRedeliveryCreatesNothingTwice(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr())
	d := sinktest.Sample(1)
	for i := range 2 {
		if err := s.Deliver(t.Context(), d); err != nil {
			t.Fatalf("Deliver #%d: %v", i+1, err)
		}
	}
	st := f.state()
	if len(st.persons) != 1 || len(st.leads) != 1 || len(st.notes) != 1 {
		t.Fatalf("%d persons, %d leads, %d notes after a repeat; want 1 each", len(st.persons), len(st.leads), len(st.notes))
	}
	n := st.notes[0].Content
	if !strings.Contains(n, "Is &#34;Test street 12A&#34; still for sale? &lt;b&gt;&amp;&lt;/b&gt;<br>Thanks") ||
		!strings.Contains(n, "leadsync ld_sample0001 #") {
		t.Errorf("note %q: message not escaped, or marker missing", n)
	}

	// An update with a new phone and a new message: the person gains the
	// phone, the lead stays one, the note is added once.
	upd := update(1, func(l *lead.Lead) {
		l.Person.Phone, l.Interest.Message = lead.Str("+46 70 999 88 77"), lead.Str("Can I see it on Sunday?")
	})
	for range 2 {
		if err := s.Deliver(t.Context(), upd); err != nil {
			t.Fatal(err)
		}
	}
	st = f.state()
	if len(st.persons) != 1 || len(st.leads) != 1 || len(st.notes) != 2 {
		t.Fatalf("after update: %d persons, %d leads, %d notes; want 1, 1, 2", len(st.persons), len(st.leads), len(st.notes))
	}
	if ph := st.persons[0].Phones; len(ph) != 2 || ph[0].Value != "070111222333" || !ph[0].Primary || ph[1].Primary {
		t.Errorf("phones %+v: want the old one primary, the new one added", ph)
	}
}

// A crash (here: a failure) between creating the lead and its note: the
// repeat finds the lead and adds only the note.
func TestRepeatAfterPartialDelivery(t *testing.T) {
	f := newFake(t)
	f.with(func(f *fakePipedrive) { f.fail["POST /v1/notes"] = 1 })
	s := newSink(t, f.Addr())
	d := sinktest.Sample(1)
	if err := s.Deliver(t.Context(), d); err == nil || sinks.IsPermanent(err) {
		t.Fatalf("Deliver with the note failing = %v, want retryable", err)
	}
	if err := s.Deliver(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	st := f.state()
	if len(st.persons) != 1 || len(st.leads) != 1 || len(st.notes) != 1 {
		t.Fatalf("%d persons, %d leads, %d notes; want 1 each", len(st.persons), len(st.leads), len(st.notes))
	}
}

func TestArchivedLeadIsFound(t *testing.T) {
	for _, noArchived := range []bool{false, true} {
		t.Run(fmt.Sprint("no archived endpoint ", noArchived), func(t *testing.T) {
			f := newFake(t)
			s := newSink(t, f.Addr())
			if err := s.Deliver(t.Context(), sinktest.Sample(1)); err != nil {
				t.Fatal(err)
			}
			f.with(func(f *fakePipedrive) { f.leads[0].archived, f.noArchived = !noArchived, noArchived })
			if err := s.Deliver(t.Context(), update(1, func(*lead.Lead) {})); err != nil {
				t.Fatal(err)
			}
			if n := len(f.state().leads); n != 1 {
				t.Errorf("%d leads, want 1", n)
			}
		})
	}
}

// Two leads of one person delivered at once create one person.
func TestSamePersonConcurrently(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			d := sinktest.Sample(100 + i)
			d.Lead.Person.Email = lead.Str("same@example.com")
			d.Body, _ = d.Lead.Marshal()
			if err := s.Deliver(t.Context(), d); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st := f.state()
	if len(st.persons) != 1 || len(st.leads) != 8 {
		t.Errorf("%d persons, %d leads; want 1 and 8", len(st.persons), len(st.leads))
	}
}

func TestFindByPhone(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr())
	noEmail := func(l *lead.Lead) { l.Person.Email = nil }
	d := update(1, noEmail)
	d.ID = "msg_1"
	for range 2 {
		if err := s.Deliver(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	if st := f.state(); len(st.persons) != 1 || len(st.leads) != 1 {
		t.Errorf("%d persons, %d leads; want 1 each", len(st.persons), len(st.leads))
	}
	none := update(2, func(l *lead.Lead) { l.Person.Email, l.Person.Phone = nil, nil })
	err := s.Deliver(t.Context(), none)
	if !sinks.IsPermanent(err) || !strings.Contains(err.Error(), "neither email nor phone") {
		t.Errorf("Deliver without email and phone = %v, want permanent, saying why", err)
	}
}

// TestUpdateWithANewEmail: an update that brings an email the person does
// not have (a changed address, or a phone-only lead that now has one) finds
// the person by phone, adds the email, and finds the lead: no second person
// or Pipedrive lead. A first version with an unknown email and a known phone
// is a person of its own (two people may share a phone).
func TestUpdateWithANewEmail(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr())
	created := sinktest.Sample(1)
	phoneOnly := update(2, func(l *lead.Lead) { l.Person.Email = nil; l.Action = lead.ActionCreated })
	phoneOnly.ID = "msg_phone_only"
	for _, d := range []sinks.Delivery{
		created,
		update(1, func(l *lead.Lead) { l.Person.Email = lead.Str("asa.new@example.com") }),
		phoneOnly,
	} {
		if err := s.Deliver(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	if st := f.state(); len(st.persons) != 1 || len(st.leads) != 2 {
		t.Fatalf("%d persons, %d leads; want 1 person (sample 2 shares its phone) and 2 leads", len(st.persons), len(st.leads))
	}
	if em := f.state().persons[0].Emails; len(em) != 2 {
		t.Fatalf("emails %+v: want the first and the new one", em)
	}
	withEmail := update(2, func(l *lead.Lead) { l.Person.Email = lead.Str("later@example.com") })
	withEmail.ID = "msg_with_email"
	if err := s.Deliver(t.Context(), withEmail); err != nil {
		t.Fatal(err)
	}
	if st := f.state(); len(st.persons) != 1 || len(st.leads) != 2 {
		t.Fatalf("after the phone-only lead's update with an email: %d persons, %d leads; want 1 and 2", len(st.persons), len(st.leads))
	}
}

func TestMappingAndConstants(t *testing.T) {
	f := newFake(t)
	const custom = "5f2d8a9c1b3e4f6a7b8c9d0e1f2a3b4c5d6e7f8a"
	s := newSink(t, f.Addr(), func(c *pipedrive.Config) {
		c.Properties = map[string]string{"interest.listing.id": custom}
		c.Constants = map[string]string{"owner_id": "42", "label_ids": "f08b42a0-4e75-11ea-9643-03698ef1cfd6, f08b42a1", "was_seen": "false", "visible_to": "3"}
		c.NoNote = true
	})
	d := sinktest.Sample(1)
	d.Lead.Interest.Listing = &lead.Listing{ID: lead.Str("12345678")}
	d.Body, _ = d.Lead.Marshal()
	if err := s.Deliver(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	st := f.state()
	got := st.leads[0]
	if got.Title != "Åsa Öberg: buy, listing 12345678 (hemnet)" {
		t.Errorf("title %q", got.Title)
	}
	if got.Fields[custom] != "12345678" || got.Fields["owner_id"] != 42.0 || got.Fields["was_seen"] != false ||
		fmt.Sprint(got.Fields["label_ids"]) != "[f08b42a0-4e75-11ea-9643-03698ef1cfd6 f08b42a1]" {
		t.Errorf("lead fields %v", got.Fields)
	}
	if len(st.notes) != 0 {
		t.Error("a note with NoNote")
	}
}

func TestRateLimitHeaders(t *testing.T) {
	f := newFake(t)
	f.with(func(f *fakePipedrive) { f.limit, f.window = 6, 2*time.Second })
	s := newSink(t, f.Addr())
	err := s.Deliver(t.Context(), sinktest.Sample(1)) // 6 requests
	if err != nil {
		t.Fatal(err)
	}
	err = s.Deliver(t.Context(), sinktest.Sample(2))
	if after, ok := sinks.RetryDelay(err); sinks.IsPermanent(err) || !ok || after != 2*time.Second {
		t.Errorf("Deliver over the limit = %v; want RetryAfter x-ratelimit-reset (2s)", err)
	}
}

func TestDailyBudgetSpent(t *testing.T) {
	f := newFake(t)
	f.with(func(f *fakePipedrive) { f.dailyLeft = 0 })
	s := newSink(t, f.Addr(), func(c *pipedrive.Config) { c.MaxRetryWait = 48 * time.Hour })
	before := time.Now().UTC()
	err := s.Deliver(t.Context(), sinktest.Sample(1)) // the search passes, the create does not
	after, ok := sinks.RetryDelay(err)
	untilMidnight := before.Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(before)
	if !ok || after > untilMidnight || after < untilMidnight-time.Minute {
		t.Errorf("daily budget spent: %v; want RetryAfter until the next UTC day (%v), capped", err, untilMidnight)
	}
}

func TestUnauthorizedIsRetried(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr(), func(c *pipedrive.Config) { c.Token = "0000revoked0000" })
	err := s.Deliver(t.Context(), sinktest.Sample(1))
	if err == nil || sinks.IsPermanent(err) || !strings.Contains(err.Error(), "token refused") {
		t.Errorf("401 = %v; want retryable, naming the token", err)
	}
	if strings.Contains(err.Error(), "0000revoked0000") {
		t.Error("error carries the token")
	}
}

func TestTokenNeverLeaks(t *testing.T) {
	f := newFake(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newSink(t, f.Addr(), func(c *pipedrive.Config) { c.Logger = log })
	for _, a := range []sinktest.Answer{sinktest.OK, sinktest.BadRequest, sinktest.Unavailable, sinktest.RateLimited} {
		f.Answer(a)
		err := s.Deliver(t.Context(), sinktest.Sample(int(a)))
		if a == sinktest.OK {
			continue
		}
		var he *sinks.HTTPError
		if !errors.As(err, &he) || !strings.Contains(he.Body, "you sent") {
			t.Errorf("error %v lost the peer's body", err)
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("error carries the token: %q", err)
		}
	}
	if logs.Len() == 0 {
		t.Fatal("no debug log lines")
	}
	if l := logs.String(); strings.Contains(l, testToken) || strings.Contains(l, "asa") || strings.Contains(l, "Åsa") {
		t.Errorf("logs carry the token or personal data:\n%s", l)
	}
	if strings.Contains(fmt.Sprint(pipedrive.Config{Token: testToken}), testToken) {
		t.Error("Config prints the token")
	}
}

func TestConfigErrors(t *testing.T) {
	ok := pipedrive.Config{Token: testToken}
	with := func(mod func(c *pipedrive.Config)) pipedrive.Config { c := ok; mod(&c); return c }
	cases := []struct {
		name string
		c    pipedrive.Config
		want string
	}{
		{"no token", pipedrive.Config{}, "token: required"},
		{"bad url", with(func(c *pipedrive.Config) { c.APIURL = "api.pipedrive.com" }), "api_url:"},
		{"plain http", with(func(c *pipedrive.Config) { c.APIURL = "http://api.pipedrive.com" }), "api_url: must be an https URL"},
		{"token in url", with(func(c *pipedrive.Config) { c.APIURL = "https://api.pipedrive.com/?api_token=x" }), "api_url:"},
		{"unknown field", with(func(c *pipedrive.Config) { c.Properties = map[string]string{"listing": "x"} }), `properties: "listing"`},
		{"reserved property", with(func(c *pipedrive.Config) { c.Properties = map[string]string{"person.full_name": "title"} }), "set by the sink"},
		{"reserved constant", with(func(c *pipedrive.Config) { c.Constants = map[string]string{"origin_id": "x"} }), "set by the sink"},
		{"owner not a number", with(func(c *pipedrive.Config) { c.Constants = map[string]string{"owner_id": "Anna"} }), "constants: owner_id"},
		{"was_seen not a bool", with(func(c *pipedrive.Config) { c.Constants = map[string]string{"was_seen": "ja"} }), "constants: was_seen"},
		{"bad key", with(func(c *pipedrive.Config) { c.Constants = map[string]string{"lead source": "x"} }), "constants:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := pipedrive.New(c.c)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Error("error quotes the token")
			}
		})
	}
}
