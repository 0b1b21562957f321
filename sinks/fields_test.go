package sinks_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/sinktest"
	"github.com/leadsync/leadsync/sync/lead"
)

func TestLeadFields(t *testing.T) {
	d := sinktest.Sample(1)
	price, areas := 1500000.0, []string{"Södermalm", "Vasastan"}
	d.Lead.Interest.PriceMax, d.Lead.Interest.Areas = &price, areas
	d.Lead.Person.Address = &lead.Address{City: lead.Str("Testköping")}
	d.Body, _ = d.Lead.Marshal()
	for _, dd := range []struct {
		name string
		d    func() (map[string]string, error)
	}{
		{"from body", func() (map[string]string, error) { return sinks.LeadFields(d) }},
		{"from lead", func() (map[string]string, error) { e := d; e.Body = nil; return sinks.LeadFields(e) }},
	} {
		f, err := dd.d()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"id": "ld_sample0001", "person.email": "asa1@example.com", "person.address.city": "Testköping",
			"interest.price_max": "1500000", "interest.areas": "Södermalm, Vasastan", "test": "true",
			"interest.message": *d.Lead.Interest.Message,
		}
		for k, v := range want {
			if f[k] != v {
				t.Errorf("%s: %s = %q, want %q", dd.name, k, f[k], v)
			}
		}
		for _, absent := range []string{"person.address.street", "assignment.office_ids", "person", "interest.listing"} {
			if _, ok := f[absent]; ok {
				t.Errorf("%s: %s present", dd.name, absent)
			}
		}
	}
	if _, err := sinks.LeadFields(sinks.Delivery{ID: "msg_1"}); err == nil {
		t.Error("a delivery without lead gave no error")
	}
}

func TestKnownFields(t *testing.T) {
	for _, k := range []string{"id", "person.email", "person.address.postal_code", "interest.listing.external_id",
		"assignment.agent.email", "assignment.agency.id", "assignment.office_ids", "source.customer_id"} {
		if !sinks.KnownFields()[k] {
			t.Errorf("%s not known", k)
		}
	}
	for k := range sinks.KnownFields() {
		if strings.HasSuffix(k, ".") || k == "person" || k == "interest.listing" {
			t.Errorf("%s is not a leaf", k)
		}
	}
}

func TestMapping(t *testing.T) {
	lower := func(p string) bool { return p != "" && strings.ToLower(p) == p }
	defaults := map[string]string{"person.email": "email", "person.phone": "phone", "id": "lead_id"}
	m, err := sinks.NewMapping(defaults,
		map[string]string{"person.phone": "", "interest.listing.id": "listing"},
		map[string]string{"source": "leadsync"}, lower)
	if err != nil {
		t.Fatal(err)
	}
	got := m.Apply(map[string]string{"person.email": "a@example.com", "person.phone": "+46 70", "interest.listing.id": "L1"})
	want := map[string]string{"email": "a@example.com", "listing": "L1", "source": "leadsync"}
	if !maps.Equal(got, want) {
		t.Errorf("Apply = %v, want %v", got, want)
	}
	if p := m.Properties(); !maps.Equal(p, map[string]string{"person.email": "email", "id": "lead_id", "interest.listing.id": "listing"}) {
		t.Errorf("Properties = %v", p)
	}
	if c := m.WithoutConstants().Constants(); len(c) != 0 {
		t.Errorf("WithoutConstants kept %v", c)
	}
	if c := m.Constants(); c["source"] != "leadsync" {
		t.Errorf("Constants = %v after WithoutConstants", c)
	}

	for _, tc := range []struct {
		name              string
		overrides, consts map[string]string
		want              string
	}{
		{"unknown field", map[string]string{"person.nope": "x"}, nil, `properties: "person.nope": not a field`},
		{"invalid name", map[string]string{"person.address.city": "City"}, nil, `properties: person.address.city: "City" is not a valid property name`},
		{"shared property", map[string]string{"person.phone": "email"}, nil, `properties: person.email and person.phone both map to "email"`},
		{"invalid constant", nil, map[string]string{"Source": "x"}, `constants: "Source" is not a valid property name`},
		{"mapped constant", nil, map[string]string{"email": "x"}, `constants: email: also mapped from lead field person.email`},
	} {
		_, err := sinks.NewMapping(defaults, tc.overrides, tc.consts, lower)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}
