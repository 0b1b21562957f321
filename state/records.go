package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"github.com/leadsync/leadsync/sync/lead/jsonw"
	"slices"
	"time"
)

// Values are JSON: small, versionable by adding fields, and readable with
// `bbolt get` when an operator needs to look. Keys carry the times that
// cursors seek on.

// dedupeRecord is what remains of an event forever (until retention): enough
// to answer a retry with "duplicate" and no personal data, so erase keeps it
// and a provider's retry of an erased lead does not create it again.
//
// It is stored at received(8) + event id (see index.go), so the id and the
// time are not repeated in the value; nor is the events key when it is the
// record's own key.
type dedupeRecord struct {
	EventID  string `json:"-"`
	Status   string `json:"s"`
	LeadID   string `json:"l,omitempty"`
	Received int64  `json:"-"`           // Unix ns
	EventKey []byte `json:"k,omitempty"` // key in the events bucket
}

// eventRecord is one event as it was committed.
type eventRecord struct {
	EventID  string   `json:"event_id"`
	Source   string   `json:"source"`
	Status   string   `json:"status"`
	Reason   string   `json:"reason,omitempty"`
	LeadID   string   `json:"lead_id,omitempty"`
	Key      string   `json:"key"`             // the provider's event key
	Raw      []byte   `json:"raw"`             // key in the raw bucket
	Received int64    `json:"received"`        // Unix ns
	Via      string   `json:"via,omitempty"`   // webhook | reconcile | replay
	Sinks    []string `json:"sinks,omitempty"` // where it was queued
	// VK is the id of the dedupe record of the event's version key, if it
	// has one (stored at the same received time, so pruned with it).
	VK string `json:"vk,omitempty"`
	// Lead is the lead JSON an accepted event produced: what replay
	// compares a re-mapping with, and where erase finds a person.
	Lead json.RawMessage `json:"lead,omitempty"`
}

// RawRequest is a request as received: what replay re-maps.
type RawRequest struct {
	// Key is where the request is stored; set by Raw and RawByEvent, and
	// what Replay links re-mapped events to. Commit ignores it.
	Key       []byte            `json:"-"`
	Source    string            `json:"source"`
	RequestID string            `json:"request_id,omitempty"`
	RemoteIP  string            `json:"remote_ip,omitempty"`
	Header    map[string]string `json:"header,omitempty"` // the headers that matter, never secrets we hold
	Body      []byte            `json:"body,omitempty"`   // stored after the JSON, as is: see encodeRaw
	Received  int64             `json:"received"`         // Unix ns
}

// encodeRaw stores a raw request as its JSON (without the body) and a
// newline, then the body's bytes as received: no base64 (a third larger,
// and CPU on the writer's path), and the bytes an operator greps for are
// the bytes the provider sent. JSON never holds a raw newline, so the first
// one ends it.
func encodeRaw(r *RawRequest) ([]byte, error) {
	n := 128 + len(r.Source) + len(r.RequestID) + len(r.RemoteIP) + len(r.Body)
	for k, v := range r.Header {
		n += len(k) + len(v) + 8
	}
	o := jsonw.Pooled(n) // Commit recycles it
	o.Str("source", r.Source)
	o.StrOmit("request_id", r.RequestID)
	o.StrOmit("remote_ip", r.RemoteIP)
	if len(r.Header) > 0 {
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			keys = append(keys, k)
		}
		slices.Sort(keys) // as json.Marshal orders a map
		o.Begin("header")
		for _, k := range keys {
			o.StrKey(k, r.Header[k])
		}
		o.End()
	}
	o.Int("received", r.Received)
	return append(append(o.Done(), '\n'), r.Body...), nil
}

// decodeRaw reads what encodeRaw wrote (or a whole-JSON record).
func decodeRaw(v []byte, r *RawRequest) error {
	i := bytes.IndexByte(v, '\n')
	if i < 0 {
		return json.Unmarshal(v, r)
	}
	if err := json.Unmarshal(v[:i], r); err != nil {
		return err
	}
	r.Body = bytes.Clone(v[i+1:])
	return nil
}

// versionRecord is the newest version of an entity that was applied.
type versionRecord struct {
	Version int64  `json:"v"` // Unix ns; 0 = unordered
	EventID string `json:"e"`
}

// Entry is one pending delivery in a sink's outbox.
type Entry struct {
	Key        []byte `json:"-"`  // outbox key: due(8) + delivery id
	ID         string `json:"id"` // delivery id, stable across retries
	LeadID     string `json:"lead_id"`
	EventID    string `json:"event_id"`
	Attempt    int    `json:"attempt"` // attempts made so far
	Created    int64  `json:"created"` // Unix ns of the first enqueue
	LastError  string `json:"last_error,omitempty"`
	LastStatus int    `json:"last_status,omitempty"`
	// Tried is when its last failed attempt was recorded (Unix ns; 0 before
	// the first), for telling a sink that is down from a lead at fault.
	Tried int64 `json:"tried,omitempty"`
	// Ref is the key of the event record that holds the lead, for an entry
	// that does not carry the lead itself (what intake queues: the lead is
	// stored once, not once per sink). Due fills in Lead from it.
	Ref  []byte          `json:"ref,omitempty"`
	Lead json.RawMessage `json:"lead,omitempty"` // the lead JSON to send
}

// Due is when the entry is due.
func (e *Entry) Due() time.Time { return time.Unix(0, int64(binary.BigEndian.Uint64(e.Key[:8]))) }

// DeadLetter is a delivery that gave up.
type DeadLetter struct {
	Entry
	Sink     string `json:"sink"`
	Reason   string `json:"reason"`
	Status   int    `json:"status,omitempty"`   // last HTTP status, if any
	Response string `json:"response,omitempty"` // peer's short answer
	DeadAt   int64  `json:"dead_at"`
}

func timeKey(t time.Time, suffix string) []byte {
	k := make([]byte, 8+len(suffix))
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano()))
	copy(k[8:], suffix)
	return k
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// Records that carry a lead are encoded with the lead JSON spliced in as it
// is: json.Marshal would validate and re-compact ~1 KB per record on the
// writer's goroutine, which is the one thing every commit waits for. The
// lead JSON is compact already (lead.Lead.Marshal), and decoding reads it
// back into the RawMessage field as usual.

func (e *eventRecord) encode() ([]byte, error) {
	return e.write(jsonw.New(e.size())), nil
}

// encodePooled is encode into a buffer from jsonw's pool (see Commit).
func (e *eventRecord) encodePooled() []byte { return e.write(jsonw.Pooled(e.size())) }

// size is what e takes encoded: the keys, and a little for escapes, so that
// a second allocation is seldom needed.
func (e *eventRecord) size() int {
	n := 160 + len(e.EventID) + len(e.Source) + len(e.Status) + len(e.Reason) + len(e.LeadID) +
		len(e.Key) + 2*len(e.Raw) + len(e.Via) + len(e.VK) + len(e.Lead)
	for _, s := range e.Sinks {
		n += len(s) + 3
	}
	return n
}

func (e *eventRecord) write(o jsonw.Object) []byte {
	o.Str("event_id", e.EventID)
	o.Str("source", e.Source)
	o.Str("status", e.Status)
	o.StrOmit("reason", e.Reason)
	o.StrOmit("lead_id", e.LeadID)
	o.Str("key", e.Key)
	o.Bytes("raw", e.Raw)
	o.Int("received", e.Received)
	o.StrOmit("via", e.Via)
	o.StrsOmit("sinks", e.Sinks)
	o.StrOmit("vk", e.VK)
	if len(e.Lead) > 0 {
		o.Raw("lead", e.Lead)
	}
	return o.Done()
}

// encode writes an entry. One that names its event record (Ref) is stored
// without the lead, which the event record holds: Due reads it from there.
func (e *Entry) encode() ([]byte, error) {
	o := jsonw.New(160 + len(e.Lead))
	o.Str("id", e.ID)
	o.Str("lead_id", e.LeadID)
	o.Str("event_id", e.EventID)
	o.Int("attempt", int64(e.Attempt))
	o.Int("created", e.Created)
	o.StrOmit("last_error", e.LastError)
	o.IntOmit("last_status", int64(e.LastStatus))
	o.IntOmit("tried", e.Tried)
	o.BytesOmit("ref", e.Ref)
	if len(e.Lead) > 0 && len(e.Ref) == 0 {
		o.Raw("lead", e.Lead)
	}
	return o.Done(), nil
}

func (d *dedupeRecord) encode() ([]byte, error) {
	o := jsonw.New(96)
	o.Str("s", d.Status)
	o.StrOmit("l", d.LeadID)
	o.BytesOmit("k", d.EventKey)
	return o.Done(), nil
}

func (v *versionRecord) encode() ([]byte, error) {
	o := jsonw.New(64)
	o.Int("v", v.Version)
	o.Str("e", v.EventID)
	return o.Done(), nil
}

func (d *DeadLetter) encode() ([]byte, error) {
	c := *d
	c.Lead, c.Ref = nil, nil // a dead letter keeps its lead: retention may prune the event
	return spliceLead(&c, d.Lead)
}

// spliceLead marshals meta (whose lead field is empty, so omitted) and adds
// `"lead":<leadJSON>` before its closing brace.
func spliceLead(meta any, leadJSON []byte) ([]byte, error) {
	m, err := json.Marshal(meta)
	if err != nil || len(leadJSON) == 0 {
		return m, err
	}
	out := make([]byte, 0, len(m)+len(leadJSON)+8)
	out = append(out, m[:len(m)-1]...)
	if len(m) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"lead":`...)
	out = append(out, leadJSON...)
	return append(out, '}'), nil
}

// decodeEntry reads an outbox entry without re-validating its lead JSON:
// the dispatcher reads every due entry, and json.Unmarshal would scan the
// ~1 KB lead byte by byte to check it. The lead was valid when stored, and
// Entry.encode and DeadLetter.encode put it last, after `,"lead":`, a
// sequence that cannot occur inside the JSON strings before it (their
// quotes are escaped).
func decodeEntry(v []byte, e *Entry) error {
	meta, lead, ok := splitLead(v)
	if !ok {
		return json.Unmarshal(v, e)
	}
	if err := json.Unmarshal(append(bytes.Clone(meta), '}'), e); err != nil {
		return err
	}
	e.Lead = bytes.Clone(lead)
	return nil
}

// splitLead splits a record whose encoder wrote the lead last into what
// comes before `,"lead":` and the lead JSON; ok is false when v holds no
// lead there (then decode it whole).
func splitLead(v []byte) (meta, lead []byte, ok bool) {
	const sep = `,"lead":`
	i := bytes.Index(v, []byte(sep))
	if i <= 0 || v[len(v)-1] != '}' {
		return v, nil, false
	}
	return v[:i], v[i+len(sep) : len(v)-1], true
}
