package hubspot

import (
	"strings"
	"testing"

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
		{"from body", func() (map[string]string, error) { return leadFields(d) }},
		{"from lead", func() (map[string]string, error) { e := d; e.Body = nil; return leadFields(e) }},
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
}

func TestKnownFields(t *testing.T) {
	for _, k := range []string{"id", "person.email", "person.address.postal_code", "interest.listing.external_id",
		"assignment.agent.email", "assignment.agency.id", "assignment.office_ids", "source.customer_id"} {
		if !knownFields()[k] {
			t.Errorf("%s not known", k)
		}
	}
	for k := range knownFields() {
		if strings.HasSuffix(k, ".") || k == "person" || k == "interest.listing" {
			t.Errorf("%s is not a leaf", k)
		}
	}
}
