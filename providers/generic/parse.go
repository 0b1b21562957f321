package generic

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/sync/lead"
)

// MaxEach bounds how many leads one request may fan out into. A sender
// controls the array's length, and every lead is an outbox entry per sink
// committed in the request's transaction.
const MaxEach = 1000

// Defaults of the lead's source block when the config maps no value.
const (
	DefaultEntity    = "lead"
	DefaultEventType = "webhook"
)

// Parse maps the request's JSON body as configured: event id, type and time
// from their pointers, the types filter, and one accepted event per lead
// (one per element of Each). An event whose type is not in Types is one
// ignored event. A body that is not JSON, has no event id, or a value of the
// wrong type for its field is an error: intake then quarantines the whole
// request, and a replay after a config fix maps it again.
//
// Parse does no I/O and uses only r: its result for a stored request is the
// same on replay, as long as the id and timestamp headers are stored with
// it. r.ReceivedAt must be set.
func (s *Source) Parse(r *providers.Request) ([]lead.Event, error) {
	doc, err := decodeJSON(r.Body)
	if err != nil {
		return nil, fmt.Errorf("decode body: %w", err)
	}
	id, err := s.eventID(doc, r.Header)
	if err != nil {
		return nil, err
	}
	typ, err := s.lookupText("type", s.m.typ, s.m.hasType, doc)
	if err != nil {
		return nil, err
	}
	if reason, skip := s.filtered(typ); skip {
		return []lead.Event{s.ignored(id, r.Body, reason)}, nil
	}
	if id == "" {
		return nil, s.noEventID()
	}
	occurred, version, err := s.eventTime(doc, r)
	if err != nil {
		return nil, err
	}
	ev := eventInfo{id: id, typ: or(typ, DefaultEventType), occurred: occurred, version: version, received: r.ReceivedAt}
	if !s.m.hasEach {
		e, err := s.event(ev, doc, nil, -1)
		if err != nil {
			return nil, err
		}
		return []lead.Event{e}, nil
	}
	return s.fanOut(ev, doc, r.Body)
}

// eventInfo is what every lead of one request shares.
type eventInfo struct {
	id, typ                     string
	occurred, version, received time.Time
}

// eventID returns the value at EventID, else the id header's value, else "".
func (s *Source) eventID(doc any, h http.Header) (string, error) {
	id := ""
	if !s.m.eventID.IsRoot() {
		var err error
		if id, err = s.lookupText("event_id", s.m.eventID, true, doc); err != nil {
			return "", err
		}
	} else if s.sig.idHeader != "" {
		id = strings.TrimSpace(h.Get(s.sig.idHeader))
	}
	// Keys are joined with NUL (lead.Key): an id holding one could pose as
	// another key.
	if strings.ContainsRune(id, 0) {
		return "", errors.New("event_id: the event id contains a NUL character")
	}
	return id, nil
}

func (s *Source) noEventID() error {
	if !s.m.eventID.IsRoot() {
		return fmt.Errorf("event_id: no event id at %s", s.m.eventID)
	}
	return fmt.Errorf("event_id: no %s header", s.sig.idHeader)
}

// lookupText returns the trimmed string or number at p, or "" when p is not
// set, refers to nothing, or to null. Another type is an error naming key.
func (s *Source) lookupText(key string, p Pointer, set bool, doc any) (string, error) {
	if !set {
		return "", nil
	}
	v, ok := p.Lookup(doc)
	if !ok || v == nil {
		return "", nil
	}
	t, err := scalarText(v)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", key, p, err)
	}
	return strings.TrimSpace(t), nil
}

// filtered says whether typ is left out by Types, and why.
func (s *Source) filtered(typ string) (string, bool) {
	if len(s.m.types) == 0 || slices.Contains(s.m.types, typ) {
		return "", false
	}
	if typ == "" {
		return fmt.Sprintf("no event type at %s; types lists %s", s.m.typ, strings.Join(s.m.types, ", ")), true
	}
	return fmt.Sprintf("event type %q not in types", printable(typ)), true
}

// ignored is the one event of a request that makes no lead. It is keyed by
// the event id when there is one, so that a redelivery is a duplicate, and
// by the body's hash otherwise.
func (s *Source) ignored(id string, body []byte, reason string) lead.Event {
	key := lead.Key(s.name, id)
	if id == "" {
		sum := sha256.Sum256(body)
		key = lead.Key(s.name, "raw", hex.EncodeToString(sum[:]))
	}
	return lead.Event{Key: key, Status: lead.StatusIgnored, Reason: reason}
}

// eventTime returns when the event happened and the version that orders it:
// the value at EventTime when there is one (then also the version), else the
// timestamp header, else r.ReceivedAt (and no version: the send time of a
// retry says nothing about the order of changes).
func (s *Source) eventTime(doc any, r *providers.Request) (occurred, version time.Time, err error) {
	if s.m.hasTime {
		if v, ok := s.m.eventTime.Lookup(doc); ok && v != nil {
			t, err := toTime(v)
			if err != nil {
				return time.Time{}, time.Time{}, fmt.Errorf("event_time: %s: %w", s.m.eventTime, err)
			}
			return t, t, nil
		}
	}
	if s.sig.tsHeader != "" {
		if t, ok := parseTimestamp(strings.TrimSpace(r.Header.Get(s.sig.tsHeader)), s.sig.tsUnit); ok {
			return t, time.Time{}, nil
		}
	}
	return r.ReceivedAt, time.Time{}, nil
}

// toTime converts an event time: RFC 3339 text, or a number of Unix seconds
// (below 1e11) or milliseconds (from 1e11, i.e. after 1973 in ms), also when
// written as a string of digits.
func toTime(v any) (time.Time, error) {
	s, err := scalarText(v)
	if err != nil {
		return time.Time{}, err
	}
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if !inRange(t) {
			return time.Time{}, errors.New("time out of range (1970 to 9999)")
		}
		return t, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, errors.New("want RFC 3339 text or Unix seconds or milliseconds")
	}
	if f >= 1e11 {
		f /= 1000
	}
	if f < 0 || f > float64(maxTime.Unix()) {
		return time.Time{}, errors.New("time out of range (1970 to 9999)")
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).Round(time.Millisecond), nil
}

// fanOut makes one event per element of the array at Each.
func (s *Source) fanOut(ev eventInfo, doc any, body []byte) ([]lead.Event, error) {
	v, ok := s.m.each.Lookup(doc)
	if !ok || v == nil {
		return nil, fmt.Errorf("each: nothing at %s", s.m.each)
	}
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("each: %s: want an array, got %s", s.m.each, typeName(v))
	}
	if len(items) == 0 {
		return []lead.Event{s.ignored(ev.id, body, fmt.Sprintf("each: %s is empty: no one to make a lead of", s.m.each))}, nil
	}
	if len(items) > MaxEach {
		return nil, fmt.Errorf("each: %s has %d elements, more than %d", s.m.each, len(items), MaxEach)
	}
	out := make([]lead.Event, 0, len(items))
	for i, el := range items {
		e, err := s.event(ev, doc, el, i)
		if err != nil {
			return nil, fmt.Errorf("%s/%d: %w", s.m.each, i, err)
		}
		out = append(out, e)
	}
	return out, nil
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
