package salesforce_test

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
	"github.com/leadsync/leadsync/sinks/salesforce"
	"github.com/leadsync/leadsync/sinks/sinktest"
	"github.com/leadsync/leadsync/sync/lead"
)

func config(url string) salesforce.Config {
	return salesforce.Config{Name: "salesforce", InstanceURL: url, ClientID: testClientID, ClientSecret: testClientSecret,
		ExternalIDField: externalField, Logger: slog.New(slog.DiscardHandler)}
}

func newSink(t *testing.T, url string, mod ...func(*salesforce.Config)) *salesforce.Sink {
	t.Helper()
	c := config(url)
	for _, m := range mod {
		m(&c)
	}
	s, err := salesforce.New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// same checks that a written Lead is d's as the default mapping says.
func same(d sinks.Delivery, r sinktest.Received) error {
	var got map[string]string
	if err := json.Unmarshal(r.Body, &got); err != nil {
		return err
	}
	l := d.Lead
	want := map[string]string{externalField: l.ID, "FirstName": *l.Person.FirstName, "LastName": *l.Person.LastName,
		"Email": *l.Person.Email, "Phone": *l.Person.Phone, "Description": *l.Interest.Message, "Company": "(private)"}
	for k, v := range want {
		if got[k] != v {
			return fmt.Errorf("%s = %q, want %q", k, got[k], v)
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
		Secrets: []string{testClientSecret, testClientID, tokenPrefix},
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

func TestRedeliveryWritesOneLead(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr())
	d := sinktest.Sample(1)
	for i := range 2 {
		if err := s.Deliver(t.Context(), d); err != nil {
			t.Fatalf("Deliver #%d: %v", i+1, err)
		}
	}
	// An agent fills in Company; an update of the lead keeps it.
	f.with(func(f *fakeSalesforce) { f.leads["ld_sample0001"][0].Fields["Company"] = "Acme AB" })
	if err := s.Deliver(t.Context(), update(1, func(l *lead.Lead) { l.Person.Phone = lead.Str("+46701234567") })); err != nil {
		t.Fatal(err)
	}
	got := f.lead(t, "ld_sample0001")
	if got["Phone"] != "+46701234567" || got["Company"] != "Acme AB" || got["LastName"] != "Öberg" {
		t.Errorf("Lead after update = %v; want the new phone, Company kept", got)
	}
	f.with(func(f *fakeSalesforce) {
		if f.created != 1 || f.issued != 1 {
			t.Errorf("%d Leads created, %d tokens issued; want 1 and 1", f.created, f.issued)
		}
	})
}

// TestSecondInquiryOfAPerson: a person's second inquiry is a new lead with
// the same email. An org's standard Lead duplicate rule (Allow, with an
// alert) refuses it over the API unless the request asks to save it all the
// same: it must not go to the dead letters.
func TestSecondInquiryOfAPerson(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr())
	if err := s.Deliver(t.Context(), sinktest.Sample(1)); err != nil {
		t.Fatal(err)
	}
	second := sinktest.Sample(2)
	second.Lead.Person.Email = sinktest.Sample(1).Lead.Person.Email
	second.Body, _ = second.Lead.Marshal()
	if err := s.Deliver(t.Context(), second); err != nil {
		t.Fatalf("the same person's second inquiry: %v", err)
	}
	f.with(func(f *fakeSalesforce) {
		if f.created != 2 {
			t.Errorf("%d Leads created, want 2", f.created)
		}
	})
}

// An update of a lead Salesforce does not have yet gets the defaults.
func TestUpdateOfUnknownLead(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr())
	if err := s.Deliver(t.Context(), update(1, func(*lead.Lead) {})); err != nil {
		t.Fatal(err)
	}
	if got := f.lead(t, "ld_sample0001"); got["Company"] != "(private)" {
		t.Errorf("Lead %v: want the default Company", got)
	}
}

func TestRequiredDefaults(t *testing.T) {
	cases := []struct {
		name           string
		full, last     *string
		mod            func(*salesforce.Config)
		lastN, company string
	}{
		{"last name", lead.Str("Åsa Öberg"), lead.Str("Öberg"), nil, "Öberg", "(private)"},
		{"full name only", lead.Str("Åsa Öberg"), nil, nil, "Åsa Öberg", "(private)"},
		{"no name", nil, nil, nil, "Unknown", "(private)"},
		{"configured", nil, nil, func(c *salesforce.Config) { c.DefaultLastName, c.DefaultCompany = "Okänd", "Privatperson" }, "Okänd", "Privatperson"},
		{"company constant", nil, nil, func(c *salesforce.Config) { c.Constants = map[string]string{"Company": "Hemnet lead"} }, "Unknown", "Hemnet lead"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			var mods []func(*salesforce.Config)
			if c.mod != nil {
				mods = append(mods, c.mod)
			}
			s := newSink(t, f.Addr(), mods...)
			d := sinktest.Sample(1)
			d.Lead.Person.FullName, d.Lead.Person.LastName = c.full, c.last
			d.Body, _ = d.Lead.Marshal()
			if err := s.Deliver(t.Context(), d); err != nil {
				t.Fatal(err)
			}
			if got := f.lead(t, d.Lead.ID); got["LastName"] != c.lastN || got["Company"] != c.company {
				t.Errorf("LastName %q, Company %q; want %q, %q", got["LastName"], got["Company"], c.lastN, c.company)
			}
		})
	}
}

func TestMappingAndTruncation(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr(), func(c *salesforce.Config) {
		c.Properties = map[string]string{"interest.listing.id": "Listing_Id__c", "person.phone": ""}
		c.Constants = map[string]string{"LeadSource": "Hemnet"}
	})
	d := sinktest.Sample(1)
	d.Lead.Interest.Listing = &lead.Listing{ID: lead.Str("12345678")}
	d.Lead.Person.Address = &lead.Address{City: lead.Str(strings.Repeat("Ö", 50)), PostalCode: lead.Str("123 45")}
	d.Body, _ = d.Lead.Marshal()
	if err := s.Deliver(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	got := f.lead(t, d.Lead.ID)
	if got["Listing_Id__c"] != "12345678" || got["LeadSource"] != "Hemnet" || got["PostalCode"] != "123 45" {
		t.Errorf("Lead %v: mapped or constant field missing", got)
	}
	if _, ok := got["Phone"]; ok {
		t.Error("Phone sent though mapped away")
	}
	if got["City"] != strings.Repeat("Ö", 40) {
		t.Errorf("City %q not cut to 40 characters", got["City"])
	}
}

func TestTokenReusedAndSingleFlight(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr())
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if err := s.Deliver(t.Context(), sinktest.Sample(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	f.with(func(f *fakeSalesforce) {
		if f.issued != 1 {
			t.Errorf("%d tokens fetched for 16 deliveries, want 1", f.issued)
		}
	})
}

// An expired session answers 401 INVALID_SESSION_ID: one new token, one
// repeat, success.
func TestExpiredSessionRefreshesOnce(t *testing.T) {
	f := newFake(t)
	s := newSink(t, f.Addr())
	if err := s.Deliver(t.Context(), sinktest.Sample(1)); err != nil {
		t.Fatal(err)
	}
	f.expire()
	if err := s.Deliver(t.Context(), sinktest.Sample(2)); err != nil {
		t.Fatalf("Deliver after the session expired: %v", err)
	}
	f.with(func(f *fakeSalesforce) {
		if f.issued != 2 || f.requests != 3 {
			t.Errorf("%d tokens, %d upserts; want 2 and 3", f.issued, f.requests)
		}
	})
	if len(f.Violations()) > 0 {
		t.Error(f.Violations())
	}
}

// A 401 with a fresh token too: retryable, and no loop.
func TestUnauthorizedTwiceIsRetryable(t *testing.T) {
	f := newFake(t)
	f.with(func(f *fakeSalesforce) { f.refuseAll = true })
	s := newSink(t, f.Addr())
	err := s.Deliver(t.Context(), sinktest.Sample(1))
	if err == nil || sinks.IsPermanent(err) || !strings.Contains(err.Error(), "INVALID_SESSION_ID") {
		t.Fatalf("Deliver refused twice = %v; want retryable with Salesforce's reason", err)
	}
	f.with(func(f *fakeSalesforce) {
		if f.issued != 2 || f.requests != 2 {
			t.Errorf("%d tokens, %d upserts; want 2 and 2", f.issued, f.requests)
		}
	})
}

func TestBadCredentials(t *testing.T) {
	f := newFake(t)
	const wrong = "WRONGSECRET0123456789"
	s := newSink(t, f.Addr(), func(c *salesforce.Config) { c.ClientSecret = wrong })
	err := s.Deliver(t.Context(), sinktest.Sample(1))
	if err == nil || sinks.IsPermanent(err) || !strings.Contains(err.Error(), "invalid_client") || !strings.Contains(err.Error(), "token refused") {
		t.Fatalf("Deliver with a wrong secret = %v; want retryable, naming the token request and the reason", err)
	}
	for _, secret := range []string{wrong, testClientID} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error carries a credential: %q", err)
		}
	}
	if f.Requests() != 0 {
		t.Error("upserted without a token")
	}
}

func TestMultipleMatchesIsPermanent(t *testing.T) {
	f := newFake(t)
	f.with(func(f *fakeSalesforce) {
		f.leads["ld_sample0001"] = []*sfLead{{ID: "00Q1", Fields: map[string]string{}}, {ID: "00Q2", Fields: map[string]string{}}}
	})
	s := newSink(t, f.Addr())
	err := s.Deliver(t.Context(), sinktest.Sample(1))
	var he *sinks.HTTPError
	if !sinks.IsPermanent(err) || !errors.As(err, &he) || he.Status != 300 || !strings.Contains(err.Error(), "mark the field Unique") {
		t.Errorf("300 = %v; want permanent, saying why", err)
	}
}

func TestRequestLimitExceeded(t *testing.T) {
	f := newFake(t)
	f.with(func(f *fakeSalesforce) { f.limit = 2 })
	s := newSink(t, f.Addr(), func(c *salesforce.Config) { c.LimitWait = 5 * time.Minute })
	for i := range 2 {
		if err := s.Deliver(t.Context(), sinktest.Sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Deliver(t.Context(), sinktest.Sample(3))
	var he *sinks.HTTPError
	after, ok := sinks.RetryDelay(err)
	if sinks.IsPermanent(err) || !ok || after != 5*time.Minute || !errors.As(err, &he) || !strings.Contains(he.Body, "REQUEST_LIMIT_EXCEEDED") {
		t.Errorf("over the API limit = %v; want RetryAfter LimitWait, the answer kept", err)
	}
}

func TestLockedRowIsRetried(t *testing.T) {
	f := newFake(t)
	f.with(func(f *fakeSalesforce) { f.lockRow = 1 })
	s := newSink(t, f.Addr())
	err := s.Deliver(t.Context(), sinktest.Sample(1))
	if err == nil || sinks.IsPermanent(err) {
		t.Fatalf("UNABLE_TO_LOCK_ROW = %v; want retryable", err)
	}
	if err := s.Deliver(t.Context(), sinktest.Sample(1)); err != nil {
		t.Fatal(err)
	}
}

func TestFieldErrorsArePermanent(t *testing.T) {
	for name, mod := range map[string]func(*salesforce.Config){
		"unknown field":          func(c *salesforce.Config) { c.Constants = map[string]string{"Lead_Score__c": "5"} },
		"unknown external field": func(c *salesforce.Config) { c.ExternalIDField = "Other_Id__c" },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t)
			err := newSink(t, f.Addr(), mod).Deliver(t.Context(), sinktest.Sample(1))
			var he *sinks.HTTPError
			if !sinks.IsPermanent(err) || !errors.As(err, &he) || !strings.Contains(he.Body, "errorCode") {
				t.Errorf("Deliver = %v; want permanent with Salesforce's errors", err)
			}
		})
	}
}

// No credential or access token shows up in an error or a log line, debug
// included, whatever the peer echoes.
func TestCredentialsNeverLeak(t *testing.T) {
	f := newFake(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newSink(t, f.Addr(), func(c *salesforce.Config) { c.Logger = log })
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
		for _, secret := range []string{testClientSecret, testClientID, tokenPrefix} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error carries a credential: %q", err)
			}
		}
	}
	l := logs.String()
	if l == "" {
		t.Fatal("no debug log lines")
	}
	for _, secret := range []string{testClientSecret, testClientID, tokenPrefix, "asa", "Åsa"} {
		if strings.Contains(l, secret) {
			t.Errorf("logs carry %q:\n%s", secret, l)
		}
	}
	c := config(f.Addr())
	if p := fmt.Sprint(c) + fmt.Sprint(c.LogValue()); strings.Contains(p, testClientSecret) || strings.Contains(p, testClientID) {
		t.Error("Config prints a credential")
	}
}

func TestDeletedLeadLeftAlone(t *testing.T) {
	f := newFake(t)
	d := update(1, func(l *lead.Lead) { l.Action = lead.ActionDeleted })
	if err := newSink(t, f.Addr()).Deliver(t.Context(), d); err != nil || f.Requests() != 0 {
		t.Errorf("Deliver deleted = %v after %d requests; want nil, none", err, f.Requests())
	}
}

func TestConfigErrors(t *testing.T) {
	with := func(mod func(c *salesforce.Config)) salesforce.Config {
		c := config("https://agency.my.salesforce.com")
		mod(&c)
		return c
	}
	cases := []struct {
		name string
		c    salesforce.Config
		want string
	}{
		{"no instance", with(func(c *salesforce.Config) { c.InstanceURL = "" }), "instance_url:"},
		{"http", with(func(c *salesforce.Config) { c.InstanceURL = "http://agency.my.salesforce.com" }), "instance_url:"},
		{"no client id", with(func(c *salesforce.Config) { c.ClientID = "" }), "client_id: required"},
		{"no secret", with(func(c *salesforce.Config) { c.ClientSecret = "" }), "client_secret: required"},
		{"no external id", with(func(c *salesforce.Config) { c.ExternalIDField = "" }), "external_id_field: required"},
		{"bad external id", with(func(c *salesforce.Config) { c.ExternalIDField = "LeadSync Id" }), `external_id_field: "LeadSync Id" is not a Salesforce API name`},
		{"external id mapped", with(func(c *salesforce.Config) { c.Properties = map[string]string{"source.entity_id": externalField} }), "external_id_field"},
		{"external id constant", with(func(c *salesforce.Config) { c.Constants = map[string]string{externalField: "x"} }), "external_id_field"},
		{"bad version", with(func(c *salesforce.Config) { c.APIVersion = "62" }), "api_version:"},
		{"bad field", with(func(c *salesforce.Config) { c.Properties = map[string]string{"person.email": "E-mail"} }), "not a valid property name"},
		{"unknown lead field", with(func(c *salesforce.Config) { c.Properties = map[string]string{"person.mobile": "MobilePhone"} }), `"person.mobile"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := salesforce.New(c.c)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), testClientSecret) || strings.Contains(err.Error(), testClientID) {
				t.Error("error quotes a credential")
			}
		})
	}
}
