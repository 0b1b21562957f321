package sinktest

import (
	"bytes"
	"fmt"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sync/lead"
)

// Sample returns a realistic delivery numbered n: distinct ids per n,
// non-ASCII names, characters JSON escapes, a multi-line message.
func Sample(n int) sinks.Delivery {
	at := time.Date(2024, 4, 12, 10, 39, 16, 462e6, time.UTC)
	l := &lead.Lead{
		ID:         fmt.Sprintf("ld_sample%04d", n),
		EventID:    fmt.Sprintf("ev_sample%04d", n),
		Action:     lead.ActionCreated,
		Test:       true,
		OccurredAt: lead.Time{Time: at},
		ReceivedAt: lead.Time{Time: at.Add(39 * time.Millisecond)},
		Source: lead.Source{Name: "hemnet", Provider: "hemnet", Entity: "contact",
			EntityID: fmt.Sprintf("c%04d", n), EventType: "CONTACT.CREATE", Via: lead.ViaWebhook},
		Person: lead.Person{FirstName: lead.Str("Åsa"), LastName: lead.Str("Öberg"),
			FullName: lead.Str("Åsa Öberg"), Email: lead.Str(fmt.Sprintf("asa%d@example.com", n)),
			Phone: lead.Str("070111222333")},
		Interest: lead.Interest{Intent: lead.IntentBuy,
			Message: lead.Str("Hej! Is \"Test street 12A\" still for sale? <b>&</b>\nThanks")},
	}
	body, err := l.Marshal()
	if err != nil {
		panic(err) // a fixed lead always marshals
	}
	if bytes.ContainsRune(body, '\n') {
		panic("sample lead JSON spans lines")
	}
	return sinks.Delivery{ID: fmt.Sprintf("msg_sample%04d", n), Attempt: 1, Body: body, Lead: l}
}
