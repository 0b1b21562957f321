package reapit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/sync/lead"
)

// envelope is every Reapit webhook body. new and old stay raw until the
// topic is known. SendAttempts and diff are not used: the lead is built
// from the whole new (or old) entity.
type envelope struct {
	EventID    string          `json:"eventId"`
	EntityID   string          `json:"entityId"`
	CustomerID string          `json:"customerId"`
	EventTime  string          `json:"eventTime"`
	TopicID    string          `json:"topicId"`
	New        json.RawMessage `json:"new"`
	Old        json.RawMessage `json:"old"`
}

// Parse maps the request's body to one event (see the package doc for the
// rules). A body that is not JSON, or has no topicId or customerId, is an
// error: intake then quarantines the whole request. Parse does no I/O and
// uses only r, so its result for a stored request is the same on replay;
// r.ReceivedAt must be set.
func (s *Source) Parse(r *providers.Request) ([]lead.Event, error) {
	var env envelope
	if err := json.Unmarshal(r.Body, &env); err != nil {
		return nil, fmt.Errorf("decode body: %w", err)
	}
	switch {
	case env.TopicID == "":
		return nil, errors.New("decode body: no topicId: not a Reapit webhook")
	case env.CustomerID == "":
		return nil, errors.New("decode body: no customerId: not a Reapit webhook")
	}
	ev := lead.Event{Key: s.webhookKey(&env, r.Body), Status: lead.StatusIgnored}
	switch {
	case env.CustomerID == CustomerPing:
		ev.Reason = "ping"
	case !s.topics[env.TopicID]:
		ev.Reason = fmt.Sprintf("topic %s not configured", printable(env.TopicID))
	case s.accept != nil && !s.accept[env.CustomerID]:
		ev.Reason = fmt.Sprintf("customer %s not listed", printable(env.CustomerID))
	case env.TopicID != TopicApplicantsCreated && env.TopicID != TopicApplicantsModified:
		ev.Status, ev.Reason = lead.StatusQuarantined, fmt.Sprintf("unsupported topic %s", printable(env.TopicID))
	default:
		ev = s.webhookEvent(r, &env, ev.Key)
	}
	return []lead.Event{ev}, nil
}

// webhookKey is the event key: one eventId fans out to several
// notifications (one per entity), hence the topic and entity in it. A body
// without an eventId is keyed by its hash, so that only its exact retries
// are duplicates.
func (s *Source) webhookKey(env *envelope, body []byte) string {
	id := env.EventID
	if id == "" {
		sum := sha256.Sum256(body)
		id = "sha256:" + hex.EncodeToString(sum[:])
	}
	return lead.Key(s.name, env.CustomerID, env.TopicID, env.EntityID, id)
}

// webhookEvent maps an applicants.created or applicants.modified event.
func (s *Source) webhookEvent(r *providers.Request, env *envelope, key string) lead.Event {
	deleted := isNull(env.New)
	raw, field := env.New, "new"
	if deleted {
		raw, field = env.Old, "old"
	}
	var a applicant
	if !isNull(raw) {
		if err := json.Unmarshal(raw, &a); err != nil {
			return quarantined(key, fmt.Sprintf("decode %s: %s", field, err))
		}
	}
	id := a.ID
	if id == "" {
		id = env.EntityID
	}
	if id == "" {
		return quarantined(key, "applicant has no id (neither entityId nor "+field+".id)")
	}
	eventTime, _ := parseTime(env.EventTime)
	modified, _ := parseTime(a.Modified)
	m := meta{customer: env.CustomerID, eventType: env.TopicID, via: lead.ViaWebhook,
		occurred: firstTime(eventTime, modified, r.ReceivedAt), received: r.ReceivedAt}
	switch {
	case deleted:
		m.action = lead.ActionDeleted
	case env.TopicID == TopicApplicantsCreated:
		m.action = lead.ActionCreated
	default:
		m.action = lead.ActionUpdated
	}
	ev := lead.Event{Key: key, EntityKey: s.entityKey(env.CustomerID, id), Status: lead.StatusAccepted,
		Lead: s.mapApplicant(&a, id, m)}
	if deleted {
		// A deletion is its own change: it has no version of its own, and
		// the old version's key would make it a duplicate of that version.
		ev.Version = eventTime
	} else {
		ev.Version = firstTime(modified, eventTime)
		ev.VersionKey = s.versionKey(env.CustomerID, id, &a, ev.Lead)
	}
	ev.Finish()
	return ev
}

func quarantined(key, reason string) lead.Event {
	return lead.Event{Key: key, Status: lead.StatusQuarantined, Reason: printable(reason)}
}

// entityKey identifies the applicant; the lead id derives from it.
func (s *Source) entityKey(customer, id string) string {
	return lead.Key(s.name, customer, "applicant", id)
}

// versionKey identifies one version of an applicant, the same whether a
// webhook or a poll saw it, so that the two are one event: its _eTag (else
// its modified time) and a digest of the person. Reapit fires
// applicants.modified when a related contact changes, which need not change
// the applicant's own _eTag; without the person in the key that change
// would be a duplicate of the previous version. Empty when the applicant
// has neither _eTag nor modified.
func (s *Source) versionKey(customer, id string, a *applicant, l *lead.Lead) string {
	v := a.version()
	if v == "" {
		return ""
	}
	return lead.Key(s.name, customer, id, v, personDigest(l))
}

// pollKey is the event key of an applicant seen by polling: like the
// version key, but distinct from any webhook's event key.
func (s *Source) pollKey(customer, id string, a *applicant, l *lead.Lead, raw []byte) string {
	v := a.version()
	if v == "" {
		sum := sha256.Sum256(raw)
		return lead.Key(s.name, customer, "poll", id, "sha256:"+hex.EncodeToString(sum[:]))
	}
	return lead.Key(s.name, customer, "poll", id, v, personDigest(l))
}

// version is what names this version of the applicant: _eTag, else
// "modified:" and the modified time as sent.
func (a *applicant) version() string {
	switch {
	case a.ETag != "":
		return a.ETag
	case a.Modified != "":
		return "modified:" + a.Modified
	}
	return ""
}

// personDigest is a short hash of the lead's person as mapped.
func personDigest(l *lead.Lead) string {
	b, _ := json.Marshal(l.Person) // strings, bools and pointers: cannot fail
	sum := sha256.Sum256(b)
	return "person:" + hex.EncodeToString(sum[:8])
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// parseTime reads Reapit's date-times: RFC 3339 with any fraction, or
// without a zone (taken as UTC). Instants before 1970 are refused: Reapit
// uses 0001-01-01 for "not set".
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC)
	}
	if err != nil || t.Year() < 1970 || t.UTC().Year() > 9999 {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// firstTime returns the first non-zero time.
func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// maxReason bounds a reason built from sender-controlled text.
const maxReason = 160

// printable shortens a sender-controlled value and replaces what a terminal
// or log line would misrender (control characters, invalid UTF-8) before it
// goes into a reason or an error.
func printable(s string) string {
	if len(s) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}
