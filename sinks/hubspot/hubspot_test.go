package hubspot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/hubspot"
	"github.com/leadsync/leadsync/sinks/sinktest"
	"github.com/leadsync/leadsync/sync/lead"
)

func newSink(t *testing.T, url string, mod ...func(*hubspot.Config)) *hubspot.Sink {
	t.Helper()
	c := hubspot.Config{Name: "hubspot", Token: testToken, APIURL: url, Logger: slog.New(slog.DiscardHandler)}
	for _, m := range mod {
		m(&c)
	}
	s, err := hubspot.New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// same checks that an upsert input carries d's lead as the default mapping
// says.
func same(d sinks.Delivery, r sinktest.Received) error {
	var in input
	if err := json.Unmarshal(r.Body, &in); err != nil {
		return err
	}
	p, l := in.Properties, d.Lead
	want := map[string]string{"email": *l.Person.Email, "firstname": *l.Person.FirstName,
		"lastname": *l.Person.LastName, "phone": *l.Person.Phone, "message": *l.Interest.Message,
		"leadsync_lead_id": l.ID}
	if in.ID != *l.Person.Email {
		return fmt.Errorf("id %q, want the email %q", in.ID, *l.Person.Email)
	}
	for k, v := range want {
		if p[k] != v {
			return fmt.Errorf("property %s = %q, want %q", k, p[k], v)
		}
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

func TestRedeliveryWritesOneContact(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr())
	d := sinktest.Sample(1)
	for i := range 2 {
		if err := s.Deliver(t.Context(), d); err != nil {
			t.Fatalf("Deliver #%d: %v", i+1, err)
		}
	}
	// A later update of the same lead, with a new phone and no name.
	upd := sinktest.Sample(1)
	upd.ID, upd.Lead.EventID, upd.Lead.Action = "msg_update", "ev_update", lead.ActionUpdated
	upd.Lead.Person.Phone, upd.Lead.Person.FirstName = lead.Str("+46701234567"), nil
	upd.Body, _ = upd.Lead.Marshal()
	if err := s.Deliver(t.Context(), upd); err != nil {
		t.Fatal(err)
	}
	cs := f.contactsByEmail()
	if len(cs) != 1 {
		t.Fatalf("%d contacts, want 1: %v", len(cs), cs)
	}
	c := cs["asa1@example.com"]
	if c["phone"] != "+46701234567" || c["firstname"] != "Åsa" || c["leadsync_lead_id"] != "ld_sample0001" {
		t.Errorf("contact after update = %v; want the new phone, the name kept", c)
	}
	got := f.Received()
	if len(got) != 3 || got[0].ID != "msg_sample0001" || got[2].ID != "msg_update" {
		t.Errorf("objectWriteTraceIds %v", got)
	}
}

func TestNoEmailIsPermanent(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr())
	d := sinktest.Sample(1)
	d.Lead.Person.Email = nil
	d.Body, _ = d.Lead.Marshal()
	err := s.Deliver(t.Context(), d)
	if !sinks.IsPermanent(err) || !strings.Contains(err.Error(), "no email") {
		t.Errorf("Deliver without email = %v, want permanent, saying why", err)
	}
	if n := f.Requests(); n != 0 {
		t.Errorf("%d requests", n)
	}
}

func TestDeletedLeadLeftAlone(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr())
	d := sinktest.Sample(1)
	d.Lead.Action = lead.ActionDeleted
	d.Body, _ = d.Lead.Marshal()
	if err := s.Deliver(t.Context(), d); err != nil || f.Requests() != 0 {
		t.Errorf("Deliver deleted = %v after %d requests; want nil, none", err, f.Requests())
	}
}

func TestMapping(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr(), func(c *hubspot.Config) {
		c.Properties = map[string]string{"interest.listing.id": "hemnet_listing_id", "person.phone": ""}
		c.Constants = map[string]string{"hs_lead_status": "NEW"}
	})
	d := sinktest.Sample(1)
	d.Lead.Interest.Listing = &lead.Listing{ID: lead.Str("12345678")}
	d.Body, _ = d.Lead.Marshal()
	if err := s.Deliver(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	c := f.contactsByEmail()["asa1@example.com"]
	if c["hemnet_listing_id"] != "12345678" || c["hs_lead_status"] != "NEW" {
		t.Errorf("contact %v: mapped or constant property missing", c)
	}
	if _, ok := c["phone"]; ok {
		t.Errorf("phone sent though mapped away: %v", c)
	}
}

func TestUnknownPropertyIsPermanent(t *testing.T) {
	f := newFake(t)
	delete(f.known, "leadsync_lead_id") // the operator did not create it
	s := newSink(t, f.Addr())
	err := s.Deliver(t.Context(), sinktest.Sample(1))
	var he *sinks.HTTPError
	if !sinks.IsPermanent(err) || !errors.As(err, &he) || he.Status != 400 || !strings.Contains(he.Body, "PROPERTY_DOESNT_EXIST") {
		t.Fatalf("Deliver with an unknown property = %v; want permanent, HubSpot's reason kept", err)
	}
	// Mapped away, it goes through.
	s = newSink(t, f.Addr(), func(c *hubspot.Config) { c.Properties = map[string]string{"id": ""} })
	if err := s.Deliver(t.Context(), sinktest.Sample(1)); err != nil {
		t.Fatal(err)
	}
}

func TestRateLimit429(t *testing.T) {
	f := newFake(t)
	f.setLimit(3, 10*time.Second)
	s := newSink(t, f.Addr(), func(c *hubspot.Config) { c.RateLimit = 1000 }) // client side off, in effect
	for i := range 3 {
		if err := s.Deliver(t.Context(), sinktest.Sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Deliver(t.Context(), sinktest.Sample(3))
	after, ok := sinks.RetryDelay(err)
	if sinks.IsPermanent(err) || !ok || after != 10*time.Second {
		t.Errorf("Deliver over the limit = %v (retry after %v, %v); want RetryAfter the 10s window", err, after, ok)
	}
}

func TestRateLimitDaily(t *testing.T) {
	f := newFake(t)
	f.setScript(func(w http.ResponseWriter) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","policyName":"DAILY"}`)
		return true
	})
	s := newSink(t, f.Addr(), func(c *hubspot.Config) { c.MaxRetryWait = 30 * time.Minute })
	err := s.Deliver(t.Context(), sinktest.Sample(1))
	if after, ok := sinks.RetryDelay(err); !ok || after != 30*time.Minute {
		t.Errorf("daily limit: %v (after %v); want RetryAfter capped at MaxRetryWait", err, after)
	}
}

// The client-side window keeps a burst under the account's limit, the same
// limit on both sides: the window counts from the end of each request, so
// no latency can bring two requests into one window at HubSpot. (The
// window's own timing is proven on a fake clock by TestWindow.)
func TestClientLimiterAvoids429(t *testing.T) {
	f := newFake(t)
	f.setLimit(4, 400*time.Millisecond)
	s := newSink(t, f.Addr(), func(c *hubspot.Config) { c.RateLimit, c.RateWindow = 4, 400*time.Millisecond })
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			if err := s.Deliver(t.Context(), sinktest.Sample(i)); err != nil {
				t.Errorf("Deliver %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if n := f.rateLimited(); n != 0 {
		t.Errorf("%d requests got 429", n)
	}
	if took := time.Since(start); took < 800*time.Millisecond {
		t.Errorf("12 deliveries took %v; the limiter let them through too fast", took)
	}
}

// A wait for the client-side limit beyond ctx's deadline is handed to the
// dispatcher.
func TestClientLimiterHandsBackLongWaits(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr(), func(c *hubspot.Config) { c.RateLimit, c.RateWindow = 1, time.Minute })
	if err := s.Deliver(t.Context(), sinktest.Sample(1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	err := s.Deliver(ctx, sinktest.Sample(2))
	if after, ok := sinks.RetryDelay(err); !ok || after < 58*time.Second || after > time.Minute {
		t.Errorf("Deliver over the client limit = %v; want RetryAfter ≈ 1m", err)
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Error("the sink waited instead of handing the wait back")
	}
	if f.Requests() != 1 {
		t.Errorf("%d requests", f.Requests())
	}
}

func TestMultiStatusRefusal(t *testing.T) {
	f := newFake(t)
	f.setScript(func(w http.ResponseWriter) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMultiStatus)
		_, _ = io.WriteString(w, `{"status":"COMPLETE","results":[],"numErrors":1,"errors":[{"status":"error",`+
			`"category":"VALIDATION_ERROR","message":"Email address asa1@example is invalid","context":{}}]}`)
		return true
	})
	s := newSink(t, f.Addr())
	err := s.Deliver(t.Context(), sinktest.Sample(1))
	var he *sinks.HTTPError
	if !sinks.IsPermanent(err) || !errors.As(err, &he) || he.Status != 207 || !strings.Contains(he.Body, "VALIDATION_ERROR") {
		t.Errorf("207 with an error = %v; want permanent with HubSpot's reason", err)
	}
}

func TestUnauthorizedIsRetried(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr(), func(c *hubspot.Config) { c.Token = "pat-na1-revoked-0000" })
	err := s.Deliver(t.Context(), sinktest.Sample(1))
	if err == nil || sinks.IsPermanent(err) || !strings.Contains(err.Error(), "token refused") {
		t.Errorf("401 = %v; want a retryable error naming the token", err)
	}
	if strings.Contains(err.Error(), "pat-na1-revoked-0000") {
		t.Error("error carries the token")
	}
}

// The token shows up in no error and no log line, debug included, whatever
// the peer echoes.
func TestTokenNeverLeaks(t *testing.T) {
	f := newFake(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newSink(t, f.Addr(), func(c *hubspot.Config) { c.Logger = log })
	var errs []error
	for _, a := range []sinktest.Answer{sinktest.OK, sinktest.BadRequest, sinktest.Unavailable, sinktest.RateLimited} {
		f.Answer(a)
		errs = append(errs, s.Deliver(t.Context(), sinktest.Sample(int(a))))
	}
	for _, err := range errs[1:] {
		if err == nil {
			t.Fatal("an error answer gave no error")
		}
		if !strings.Contains(err.Error(), "you sent") {
			t.Errorf("error %q lost the peer's body", err)
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("error carries the token: %q", err)
		}
	}
	if logs.Len() == 0 {
		t.Fatal("no debug log lines")
	}
	if strings.Contains(logs.String(), testToken) || strings.Contains(logs.String(), "asa") {
		t.Errorf("logs carry the token or personal data:\n%s", logs.String())
	}
	for _, v := range []any{fmt.Sprint(hubspot.Config{Token: testToken}), fmt.Sprintf("%+v", hubspot.Config{Token: testToken}.LogValue())} {
		if strings.Contains(fmt.Sprint(v), testToken) {
			t.Errorf("Config prints the token: %v", v)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		c    hubspot.Config
		want string
	}{
		{"no token", hubspot.Config{}, "token: required"},
		{"token with newline", hubspot.Config{Token: "pat\nx"}, "token:"},
		{"bad url", hubspot.Config{Token: testToken, APIURL: "ftp://x"}, "api_url:"},
		{"plain http", hubspot.Config{Token: testToken, APIURL: "http://api.hubapi.com"}, "api_url: must be an https URL"},
		{"url with query", hubspot.Config{Token: testToken, APIURL: "https://api.hubapi.com/?hapikey=1"}, "api_url:"},
		{"unknown field", hubspot.Config{Token: testToken, Properties: map[string]string{"person.emial": "x"}}, `properties: "person.emial"`},
		{"bad property name", hubspot.Config{Token: testToken, Properties: map[string]string{"interest.form": "Form Name"}}, "not a valid property name"},
		{"two fields one property", hubspot.Config{Token: testToken, Properties: map[string]string{"person.full_name": "lastname"}}, "both map to"},
		{"constant also mapped", hubspot.Config{Token: testToken, Constants: map[string]string{"phone": "0"}}, "constants: phone"},
		{"bad constant name", hubspot.Config{Token: testToken, Constants: map[string]string{"Lead Source": "x"}}, "constants:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := hubspot.New(c.c)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Error("error quotes the token")
			}
		})
	}
}
