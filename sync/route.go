package sync

import (
	"slices"

	"github.com/leadsync/leadsync/sync/config"
	"github.com/leadsync/leadsync/sync/lead"
)

// Match selects the leads a sink receives. An empty list matches anything;
// every list given must match; a lead matching Not is excluded. Test leads
// (sandbox data) match only when Test is true.
type Match struct {
	Sources   []string
	Providers []string
	Actions   []string
	Intents   []string
	Agencies  []string // agency id or external id
	Offices   []string // any office id
	Test      bool
	Not       *Match
}

// Matches reports whether l goes to a sink with this match.
func (m *Match) Matches(l *lead.Lead) bool {
	if l.Test && !m.Test {
		return false
	}
	if !m.lists(l) {
		return false
	}
	return m.Not == nil || !m.Not.any(l)
}

// lists reports whether every non-empty list matches l.
func (m *Match) lists(l *lead.Lead) bool {
	a := l.Assignment
	agency := func(v string) bool {
		return a.Agency != nil && (eq(a.Agency.ID, v) || eq(a.Agency.ExternalID, v))
	}
	return in(m.Sources, l.Source.Name) && in(m.Providers, l.Source.Provider) && in(m.Actions, l.Action) &&
		in(m.Intents, l.Interest.Intent) &&
		(len(m.Agencies) == 0 || slices.ContainsFunc(m.Agencies, agency)) &&
		(len(m.Offices) == 0 || slices.ContainsFunc(a.OfficeIDs, func(o string) bool { return slices.Contains(m.Offices, o) }))
}

// any is the sense of a `not:` block: it excludes a lead when every list it
// gives matches; an empty `not:` excludes nothing.
func (m *Match) any(l *lead.Lead) bool {
	empty := len(m.Sources)+len(m.Providers)+len(m.Actions)+len(m.Intents)+len(m.Agencies)+len(m.Offices) == 0
	return !empty && m.lists(l)
}

func in(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }

func eq(p *string, v string) bool { return p != nil && *p == v }

// matchOf turns a config match into the engine's.
func matchOf(m *config.Match) Match {
	if m == nil {
		return Match{}
	}
	out := Match{Sources: m.Sources, Providers: m.Providers, Actions: m.Actions, Intents: m.Intents,
		Agencies: m.Agencies, Offices: m.Offices, Test: m.Test != nil && *m.Test}
	if m.Not != nil {
		not := matchOf(m.Not)
		out.Not = &not
	}
	return out
}

// route returns the sinks whose match selects l, in configuration order.
func route(wr *wiring, l *lead.Lead) []string {
	var out []string
	for i := range wr.sinks {
		if wr.sinks[i].Match.Matches(l) {
			out = append(out, wr.sinks[i].Name)
		}
	}
	return out
}
