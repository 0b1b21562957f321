package providers

import (
	"context"
	"time"

	"github.com/leadsync/leadsync/sync/lead"
)

// Page is one page of a poll: the events it maps to, the raw page as
// received (kept for replay like a webhook body), and the newest modification
// time it contains, which becomes the cursor once the page is committed.
type Page struct {
	Events      []lead.Event
	Raw         []byte
	MaxModified time.Time
}

// Poller is implemented by sources whose API can be polled for what webhooks
// missed (Reapit). The engine runs it on the source's reconcile schedule,
// never two runs of one source at once.
//
// Poll pages through the entities of one customer modified at or after
// since, in ascending modification order, and calls commit with each page in
// turn. commit stores the page and its cursor durably in one transaction;
// when it returns an error, Poll stops and returns it. Poll returns an error
// wrapping ErrUnavailable for a rate limit or server error (the run is
// abandoned and resumes next time from the last committed page); it must
// honour ctx. Events carry Via "reconcile" and the same keys a webhook of
// the same change would produce, so that the two are one event.
type Poller interface {
	Customers() []string
	Poll(ctx context.Context, customer string, since time.Time, commit func(Page) error) error
}
