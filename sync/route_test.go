package sync

import (
	"strings"
	"testing"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/email"

	"github.com/leadsync/leadsync/sync/config"
	"github.com/leadsync/leadsync/sync/lead"
)

func TestMatch(t *testing.T) {
	yes, no := true, false
	l := func(mod func(*lead.Lead)) *lead.Lead {
		x := &lead.Lead{Action: "created", Source: lead.Source{Name: "hemnet", Provider: "hemnet"},
			Interest:   lead.Interest{Intent: "buy"},
			Assignment: lead.Assignment{Agency: &lead.Agency{ID: lead.Str("654321"), ExternalID: lead.Str("123")}, OfficeIDs: []string{"OXF"}}}
		if mod != nil {
			mod(x)
		}
		return x
	}
	test := func(x *lead.Lead) { x.Test = true }
	cases := []struct {
		name string
		m    *config.Match
		l    *lead.Lead
		want bool
	}{
		{"absent matches a real lead", nil, l(nil), true},
		{"absent skips a test lead", nil, l(test), false},
		{"test: false skips a test lead", &config.Match{Test: &no}, l(test), false},
		{"test: true takes a test lead", &config.Match{Test: &yes}, l(test), true},
		{"test: true takes a real lead", &config.Match{Test: &yes}, l(nil), true},
		{"source", &config.Match{Sources: []string{"reapit"}}, l(nil), false},
		{"provider", &config.Match{Providers: []string{"hemnet"}}, l(nil), true},
		{"action", &config.Match{Actions: []string{"updated", "deleted"}}, l(nil), false},
		{"intent", &config.Match{Intents: []string{"sell"}}, l(nil), false},
		{"agency by id", &config.Match{Agencies: []string{"654321"}}, l(nil), true},
		{"agency by external id", &config.Match{Agencies: []string{"123"}}, l(nil), true},
		{"agency absent on lead", &config.Match{Agencies: []string{"1"}}, l(func(x *lead.Lead) { x.Assignment.Agency = nil }), false},
		{"office", &config.Match{Offices: []string{"SOL", "OXF"}}, l(nil), true},
		{"office missing", &config.Match{Offices: []string{"SOL"}}, l(nil), false},
		{"not excludes", &config.Match{Not: &config.Match{Intents: []string{"buy"}}}, l(nil), false},
		{"not needs all its lists", &config.Match{Not: &config.Match{Intents: []string{"buy"}, Actions: []string{"deleted"}}}, l(nil), true},
		{"empty not excludes nothing", &config.Match{Not: &config.Match{}}, l(nil), true},
		{"all lists must match", &config.Match{Sources: []string{"hemnet"}, Intents: []string{"sell"}}, l(nil), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := matchOf(c.m)
			if got := m.Matches(c.l); got != c.want {
				t.Fatalf("Matches = %v, want %v", got, c.want)
			}
		})
	}
}

func TestLogTextWithholdsThePeersBody(t *testing.T) {
	err := sinks.Permanent(&sinks.HTTPError{Status: 400, Body: `{"error":"john@example.com is taken"}`})
	got := logText("gave up: "+err.Error(), err)
	if strings.Contains(got, "john@example.com") || !strings.Contains(got, "400") {
		t.Fatalf("logText = %q", got)
	}
}

func TestLogTextWithholdsAnSMTPRefusalWhole(t *testing.T) {
	const addr = "agent.anna@agency.example"
	err := sinks.Permanent(&email.ReplyError{Command: "RCPT TO:<" + addr + ">", Code: 550,
		Reply: "5.1.1 <" + addr + ">: Recipient address rejected"})
	got := logText("gave up: "+err.Error(), err)
	if strings.Contains(got, "agent.anna") || !strings.Contains(got, "550") || !strings.HasPrefix(got, "gave up: ") {
		t.Fatalf("logText = %q", got)
	}
}
