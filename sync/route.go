package sync

import (
	"slices"

	"github.com/leadsync/leadsync/sync/lead"
)

// Match selects the leads a sink receives. An empty list matches anything;
// all non-empty lists must match.
type Match struct {
	Sources []string
	Actions []string
}

// Matches reports whether l goes to a sink with this match.
func (m Match) Matches(l *lead.Lead) bool {
	return in(m.Sources, l.Source.Name) && in(m.Actions, l.Action)
}

func in(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }

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
