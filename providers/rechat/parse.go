package rechat

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/sync/lead"
)

// envelope is every brand webhook body. The payload stays raw until the
// topic is known.
type envelope struct {
	Topic     text            `json:"topic"`
	Event     text            `json:"event"`
	Timestamp text            `json:"timestamp"`
	Payload   json.RawMessage `json:"payload"`
}

// delivery is what every event of one request shares.
type delivery struct {
	r        *providers.Request
	topic    string // canonical spelling, e.g. "Contacts"
	event    string
	sent     time.Time // the envelope's timestamp; zero when absent
	sentRaw  string
	bodyHash string
}

// Parse maps the request's body: one event per contact of a Contacts
// delivery, one per appointment of a Showings delivery, one ignored event
// for Deals and for topics not configured. A body that is not a brand
// webhook (not JSON, no payload, no topic that can be told) is an error:
// intake then quarantines the whole request. A single contact or
// appointment that cannot be mapped is one quarantined event, so that the
// others of its delivery still make leads.
//
// Parse does no I/O and uses only r: its result for a stored request is the
// same on replay. r.ReceivedAt must be set.
func (s *Source) Parse(r *providers.Request) ([]lead.Event, error) {
	var env envelope
	if err := json.Unmarshal(r.Body, &env); err != nil {
		return nil, fmt.Errorf("decode body: %w", err)
	}
	if p := bytes.TrimSpace(env.Payload); len(p) == 0 || string(p) == "null" {
		return nil, errors.New("decode body: no payload: not a Rechat brand webhook")
	}
	topic := canonicalTopic(string(env.Topic), string(env.Event), env.Payload)
	if topic == "" {
		return nil, errors.New("decode body: no topic, and the payload is neither contacts nor a showing")
	}
	sum := sha256.Sum256(r.Body)
	d := &delivery{r: r, topic: topic, event: string(env.Event), sentRaw: string(env.Timestamp), bodyHash: hex.EncodeToString(sum[:])}
	if env.Timestamp != "" {
		d.sent, _ = parseMillis(json.Number(env.Timestamp))
	}
	evs, err := s.route(d, env.Payload)
	return unique(evs), err
}

// route hands the payload to its topic's mapping.
func (s *Source) route(d *delivery, payload json.RawMessage) ([]lead.Event, error) {
	switch topic := d.topic; {
	case topic == TopicDeals:
		return []lead.Event{s.ignored(d, "topic Deals ignored: deals carry no lead")}, nil
	case !s.configured(topic):
		return []lead.Event{s.ignored(d, fmt.Sprintf("topic %s not configured", printable(topic)))}, nil
	case topic == TopicContacts:
		return s.parseContacts(d, payload)
	case topic == TopicShowings:
		return s.parseShowings(d, payload)
	}
	return []lead.Event{s.quarantined(d, fmt.Sprintf("unsupported topic %s", printable(d.topic)))}, nil
}

// unique drops events whose key an earlier event of the same request has:
// a contact listed twice in one delivery is one change, and intake commits
// each key once.
func unique(evs []lead.Event) []lead.Event {
	seen := make(map[string]bool, len(evs))
	out := evs[:0]
	for _, ev := range evs {
		if !seen[ev.Key] {
			seen[ev.Key] = true
			out = append(out, ev)
		}
	}
	return out
}

// canonicalTopic returns the topic in Rechat's spelling (the Contacts job
// sends "contacts" in lowercase, the Showings controller "Showings"). An
// envelope without a topic (older Rechat servers sent none) is told by its
// event or payload.
func canonicalTopic(topic, event string, payload json.RawMessage) string {
	for _, t := range []string{TopicContacts, TopicShowings, TopicDeals} {
		if strings.EqualFold(topic, t) {
			return t
		}
	}
	if topic != "" {
		return topic
	}
	var probe struct {
		Showing json.RawMessage `json:"showing"`
		Data    json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(payload, &probe) // a payload that is not an object has neither
	switch {
	case strings.HasPrefix(strings.ToLower(event), "showing.") || len(probe.Showing) > 0:
		return TopicShowings
	case len(probe.Data) > 0:
		return TopicContacts
	}
	return ""
}

// ignored is the one event of a request that makes no lead, keyed by the
// body's hash so that Rechat's retries of it are duplicates.
func (s *Source) ignored(d *delivery, reason string) lead.Event {
	return lead.Event{Key: lead.Key(s.name, "raw", d.bodyHash), Status: lead.StatusIgnored, Reason: reason}
}

// quarantined is an event kept for a replay after a mapping fix; parts
// tell apart the items of one request.
func (s *Source) quarantined(d *delivery, reason string, parts ...string) lead.Event {
	key := lead.Key(append([]string{s.name, "raw", d.bodyHash}, parts...)...)
	return lead.Event{Key: key, Status: lead.StatusQuarantined, Reason: reason}
}

// occurred picks the first non-zero of the given times, else the
// envelope's timestamp, else the receive time.
func (d *delivery) occurred(ts ...time.Time) time.Time {
	for _, t := range append(ts, d.sent, d.r.ReceivedAt) {
		if !t.IsZero() {
			return t
		}
	}
	return d.r.ReceivedAt
}

// newLead starts the lead of one item of d.
func (s *Source) newLead(d *delivery, action, entity, entityID, eventType string, occurred time.Time) *lead.Lead {
	return &lead.Lead{
		Action:     action,
		OccurredAt: lead.Time{Time: occurred.UTC()},
		ReceivedAt: lead.Time{Time: d.r.ReceivedAt.UTC()},
		Source: lead.Source{
			Name: s.name, Provider: Provider, Entity: entity, EntityID: entityID,
			EventType: eventType, Via: lead.ViaWebhook,
		},
	}
}

// printable shortens a sender-controlled value and replaces what a terminal
// or log line would misrender (control characters, invalid UTF-8) before it
// goes into a reason.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}

func itoa(i int) string { return strconv.Itoa(i) }
