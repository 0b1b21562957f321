package generic

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/leadsync/leadsync/sync/lead"
)

// The words senders use for intents and actions, and how they map onto the
// lead's vocabulary.

// intentWords maps the words forms and platforms use onto the lead's
// intents. A value not listed is "other": the raw word cannot be kept in
// intent (an enum), so map it to reason as well if it matters.
var intentWords = map[string]string{
	"buy": lead.IntentBuy, "buyer": lead.IntentBuy, "buying": lead.IntentBuy, "purchase": lead.IntentBuy,
	"sell": lead.IntentSell, "seller": lead.IntentSell, "selling": lead.IntentSell, "sale": lead.IntentSell,
	"rent": lead.IntentRent, "renter": lead.IntentRent, "renting": lead.IntentRent, "tenant": lead.IntentRent, "rental": lead.IntentRent,
	"let": lead.IntentLet, "letting": lead.IntentLet, "landlord": lead.IntentLet, "lettings": lead.IntentLet,
	"valuation": lead.IntentValuation, "appraisal": lead.IntentValuation, "valuate": lead.IntentValuation,
	"other": lead.IntentOther,
}

func intent(s string) string {
	if in, ok := intentWords[strings.ToLower(s)]; ok {
		return in
	}
	return lead.IntentOther
}

// actionWords maps event verbs onto lead actions. A cancellation (of an
// appointment, say) is an update of the lead, not its deletion: a sink that
// deletes the person on "deleted" must not lose a contact because a viewing
// was called off.
var actionWords = map[string]string{
	"created": lead.ActionCreated, "create": lead.ActionCreated, "new": lead.ActionCreated,
	"insert": lead.ActionCreated, "inserted": lead.ActionCreated, "added": lead.ActionCreated,
	"registered": lead.ActionCreated, "submitted": lead.ActionCreated, "scheduled": lead.ActionCreated,
	"updated": lead.ActionUpdated, "update": lead.ActionUpdated, "modified": lead.ActionUpdated,
	"changed": lead.ActionUpdated, "rescheduled": lead.ActionUpdated,
	"cancelled": lead.ActionUpdated, "canceled": lead.ActionUpdated,
	"deleted": lead.ActionDeleted, "delete": lead.ActionDeleted, "removed": lead.ActionDeleted,
}

// action maps s onto a lead action: the whole word, else its last segment
// after '.', ':', '/' or '_' (so that "appointment.cancelled" and
// "USER_REGISTERED" work as they come). Anything else is an error, so that
// a wrong pointer is seen rather than every lead becoming "created".
func action(s string) (string, error) {
	w := strings.ToLower(s)
	if a, ok := actionWords[w]; ok {
		return a, nil
	}
	if i := strings.LastIndexAny(w, ".:/_"); i >= 0 {
		if a, ok := actionWords[w[i+1:]]; ok {
			return a, nil
		}
	}
	return "", fmt.Errorf("action %s is none of created, updated, deleted (or a word for one)", quoteWord(s))
}

// quoteWord quotes s for an error when it looks like a verb or event type,
// and otherwise only says that it is not one: a pointer set by mistake on
// an email address must not put the address in a log line.
func quoteWord(s string) string {
	if len(s) > 40 {
		return "(not a word)"
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("._:/-", r)) {
			return "(not a word)"
		}
	}
	return strconv.Quote(s)
}
