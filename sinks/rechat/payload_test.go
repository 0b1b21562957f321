package rechat_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/rechat"
	"github.com/leadsync/leadsync/sinks/sinktest"
	"github.com/leadsync/leadsync/sync/lead"
)

// johnDoe is SPEC's example lead, as Hemnet sends it.
func johnDoe() sinks.Delivery {
	d := sinktest.Sample(1)
	l := *d.Lead
	s := lead.Str
	l.Test = false
	l.Person = lead.Person{FirstName: s("John"), LastName: s("Doe"), FullName: s("John Doe"),
		Email: s("john@example.com"), Phone: s("070111222333"),
		Address: &lead.Address{Street: s("Test street 12A"), City: s("Testköping")}}
	l.Interest.Message = s("I am interested in this property")
	l.Interest.Listing = &lead.Listing{ID: s("12345678"), ExternalID: s("abc123def")}
	l.Assignment.Agent = &lead.Agent{ID: s("12345"), Name: s("Anon Ymous"), Email: s("anon@example.com")}
	d.Lead = &l
	d.Body, _ = l.Marshal()
	return d
}

// posted delivers d and returns the body Rechat got and the number of
// requests.
func posted(t *testing.T, d sinks.Delivery, mod ...func(*rechat.Config)) (rechat.Payload, int) {
	t.Helper()
	bodies := make(chan []byte, 1)
	srv, n := server(t, func(w http.ResponseWriter, _ *http.Request, body []byte) {
		bodies <- body
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"code":"OK"}`)
	})
	if err := newSink(t, srv.URL, mod...).Deliver(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	var got rechat.Payload
	if err := json.Unmarshal(<-bodies, &got); err != nil {
		t.Fatal(err)
	}
	return got, int(n.Load())
}

func TestPayload(t *testing.T) {
	d := johnDoe()
	got, n := posted(t, d, func(c *rechat.Config) { c.Tags = []string{"Hemnet", "Website Inquiry"} })
	want := rechat.Payload{
		FirstName: "John", LastName: "Doe", Email: "john@example.com", PhoneNumber: "070111222333",
		Note: "I am interested in this property\n\n" +
			"Intent: buy\n" +
			"Listing: 12345678 (ref abc123def)\n" +
			"Address: Test street 12A, Testköping\n" +
			"Agent: Anon Ymous <anon@example.com>\n" +
			"Source: hemnet (CONTACT.CREATE)\n" +
			"leadsync lead ld_sample0001 delivery msg_sample0001",
		LeadSource: "hemnet", SourceType: "Website", Tags: []string{"Hemnet", "Website Inquiry"}, Tag: []string{"Hemnet", "Website Inquiry"},
	}
	if n != 1 || !reflect.DeepEqual(got, want) {
		t.Errorf("%d requests, posted\n%#v\nwant\n%#v", n, got, want)
	}
}

func TestPayloadAddressIsPropertyOfInterest(t *testing.T) {
	d := johnDoe()
	d.Lead.Interest.Intent = lead.IntentValuation
	if got, _ := posted(t, d); got.Address != "Test street 12A, Testköping" {
		t.Errorf("valuation lead: address %q", got.Address)
	}
}

func TestPayloadOptions(t *testing.T) {
	got, _ := posted(t, johnDoe(), func(c *rechat.Config) { c.LeadSource, c.SourceType = "Hemnet portal", "Zillow" })
	if got.LeadSource != "Hemnet portal" || got.SourceType != "Zillow" {
		t.Errorf("lead_source %q, source_type %q", got.LeadSource, got.SourceType)
	}
	d := johnDoe()
	d.Lead.Source.Provider = ""
	if got, _ := posted(t, d); got.LeadSource != "leadsync" {
		t.Errorf("lead_source %q without a provider", got.LeadSource)
	}
}

func TestPayloadTestLeadTagged(t *testing.T) {
	got, _ := posted(t, sinktest.Sample(1), func(c *rechat.Config) { c.Tags = []string{"web"} })
	if !reflect.DeepEqual(got.Tags, []string{"web", "test"}) || !reflect.DeepEqual(got.Tag, got.Tags) {
		t.Errorf("tags %v, tag %v", got.Tags, got.Tag)
	}
}

func TestPayloadNameFromFullName(t *testing.T) {
	d := johnDoe()
	d.Lead.Person.FirstName, d.Lead.Person.LastName = nil, nil
	d.Lead.Person.FullName = lead.Str("Anna Maria Svensson")
	if got, _ := posted(t, d); got.FirstName != "Anna Maria" || got.LastName != "Svensson" {
		t.Errorf("first %q last %q", got.FirstName, got.LastName)
	}
}

func TestPayloadSparseLead(t *testing.T) {
	d := sinktest.Sample(1)
	d.Lead = &lead.Lead{ID: "ld_x", Action: lead.ActionCreated, Person: lead.Person{Phone: lead.Str("+1 555 123 4567")}}
	d.Lead.Normalize()
	got, _ := posted(t, d)
	want := rechat.Payload{PhoneNumber: "+1 555 123 4567", Note: "leadsync lead ld_x delivery msg_sample0001",
		LeadSource: "leadsync", SourceType: "Website"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("posted %#v", got)
	}
}

func TestDeletedLeadIsNotPosted(t *testing.T) {
	srv, n := server(t, func(http.ResponseWriter, *http.Request, []byte) {})
	d := johnDoe()
	d.Lead.Action = lead.ActionDeleted
	if err := newSink(t, srv.URL).Deliver(t.Context(), d); err != nil {
		t.Errorf("Deliver = %v", err)
	}
	if n.Load() != 0 {
		t.Errorf("%d requests for a deleted lead", n.Load())
	}
}

func TestDeliverNeedsID(t *testing.T) {
	d := johnDoe()
	d.ID = ""
	if err := newSink(t, "http://127.0.0.1:1").Deliver(t.Context(), d); !sinks.IsPermanent(err) {
		t.Errorf("Deliver without id = %v, want permanent", err)
	}
}

func TestPreview(t *testing.T) {
	s := newSink(t, "https://api.rechat.com")
	d := johnDoe()
	d.Lead = nil // decoded from Body
	out, err := s.Preview(d)
	if err != nil {
		t.Fatal(err)
	}
	p, err := decode(out)
	if err != nil || p.Email != "john@example.com" || !strings.HasSuffix(p.Note, "delivery "+d.ID) {
		t.Errorf("Preview = %s, %v", out, err)
	}
	if strings.Contains(string(out), channel) {
		t.Error("preview shows the channel")
	}
}
