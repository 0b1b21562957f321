package lead

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"
)

// Statuses an event is committed with.
const (
	StatusAccepted    = "accepted"    // a lead was produced and queued for its sinks
	StatusDuplicate   = "duplicate"   // the event key (or version key) was seen before
	StatusQuarantined = "quarantined" // signed correctly but not mappable; kept for replay
	StatusIgnored     = "ignored"     // valid but not a lead (ping, topic not configured…)
	StatusStale       = "stale"       // older than a version already applied; recorded, not delivered
)

// Event is one change reported by a provider, produced by a pure parse of a
// verified request. A request yields zero or more events; each is committed
// on its own terms (dedupe, newest wins, outbox) in the request's transaction.
type Event struct {
	// Key is the provider's identity of this change, e.g.
	// "hemnet\x00contact\x00c7bc…". Required: it is the dedupe identity, and
	// EventID is derived from it.
	Key string
	// VersionKey, when set, is a second identity of the same change, so that a
	// webhook and a poll of one change are one event (Reapit's _eTag).
	VersionKey string
	// EntityKey is source + customer + entity; the lead id derives from it.
	// Empty for events that carry no lead.
	EntityKey string
	// Version orders versions of one entity: an event whose Version is older
	// than the one already applied is stale. Zero means "no ordering": always
	// applied.
	Version time.Time
	// Status is StatusAccepted (with Lead set), StatusIgnored or
	// StatusQuarantined (with Reason set).
	Status string
	// Reason says why an event was ignored or quarantined.
	Reason string
	// Lead is the mapped lead for accepted events. Its ID and EventID are
	// filled in from the keys by Finish.
	Lead *Lead
}

// Finish fills in the ids of e.Lead from the event's keys and normalizes it.
func (e *Event) Finish() {
	if e.Lead == nil {
		return
	}
	e.Lead.EventID = EventID(e.Key)
	if e.EntityKey != "" {
		e.Lead.ID = LeadID(e.EntityKey)
	}
	e.Lead.Normalize()
}

// Key joins parts into a key with a separator that cannot occur in ids.
func Key(parts ...string) string { return strings.Join(parts, "\x00") }

// EventID is the public id of the event with key k: "ev_" + a short hash.
func EventID(k string) string { return "ev_" + shortHash(k) }

// LeadID is the public id of the entity with key k: "ld_" + a short hash
// (of a different input than EventID's, so that an event and the lead it
// creates never look alike).
func LeadID(k string) string { return "ld_" + shortHash(Key("lead", k)) }

// DeliveryID is the id of delivering event key k to sink: "msg_" + a short
// hash. It is stable across retries and sent as webhook-id.
func DeliveryID(k, sink string) string { return "msg_" + shortHash(Key(k, sink)) }

var b32 = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// shortHash is 130 bits of SHA-256 in Crockford-style lowercase base32.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return b32.EncodeToString(sum[:17])[:26]
}
