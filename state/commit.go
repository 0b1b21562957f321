package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/leadsync/leadsync/sync/lead"
	"github.com/leadsync/leadsync/sync/lead/jsonw"
	bolt "go.etcd.io/bbolt"
)

// Item is one event ready to commit.
type Item struct {
	Event lead.Event
	// LeadJSON is Event.Lead marshalled, for accepted events. Marshalling
	// happens before the commit, on the caller's goroutine, so the writer's
	// transaction stays short.
	LeadJSON []byte
	// Sinks are the sinks whose match selects the lead.
	Sinks []string
	// Via is webhook, reconcile or replay.
	Via string
}

// Incoming is everything one request (or one polled page) brings: the raw
// request once, and the events it carries.
type Incoming struct {
	Raw   RawRequest
	Items []Item
}

// Result is what became of one Item.
type Result struct {
	EventID string
	LeadID  string
	Status  string   // accepted, duplicate, stale, ignored, quarantined
	Reason  string   // for ignored/quarantined/stale
	Sinks   []string // outboxes the lead was queued in (accepted only)
}

var rawSeq atomic.Uint64

// Commit stores in in one durable transaction: for each item its dedupe
// record, the raw request (once), the event, and for a new, newest version of
// a lead the lead itself and one outbox entry per sink, replacing a pending
// older entry of the same entity on that sink. It returns after fsync. Any
// error means nothing of in was stored.
func (s *Store) Commit(in *Incoming) ([]Result, error) {
	if in.Raw.Received == 0 {
		in.Raw.Received = s.now().UnixNano()
	}
	rawKey := append(u64(uint64(in.Raw.Received)), u64(rawSeq.Add(1))...)
	rawVal, err := encodeRaw(&in.Raw)
	if err != nil {
		return nil, fmt.Errorf("commit: encode raw: %w", err)
	}
	// Everything that does not depend on what is stored already is worked
	// out here, on the caller's goroutine, so that the writer's
	// transaction, which every request waits for, does only the rest.
	prep := make([]prepared, len(in.Items))
	for i := range in.Items {
		prep[i] = prepare(in.Raw.Source, &in.Items[i], rawKey, in.Raw.Received)
	}
	var res []Result
	err = s.update(func(tx *bolt.Tx) error {
		res = make([]Result, len(in.Items)) // fresh on every run: the op may run twice
		wroteRaw := false
		for i := range in.Items {
			r, err := s.commitItem(tx, in.Raw.Source, &in.Items[i], &prep[i], rawKey, in.Raw.Received)
			if err != nil {
				return fmt.Errorf("commit event: %w", err)
			}
			res[i] = r
			wroteRaw = wroteRaw || r.Status != lead.StatusDuplicate
		}
		if wroteRaw {
			return appendBucket(tx, bRaw).Put(rawKey, rawVal)
		}
		return nil
	})
	// The transaction is over (committed or not): bbolt no longer refers
	// to the values it was given, so their buffers go back to the pool.
	// (Until then, a Get in a write transaction of the batch may return one
	// of these buffers itself: code in write transactions must copy what it
	// keeps beyond them, as it does already for what bbolt maps.)
	jsonw.Recycle(rawVal)
	for i := range prep {
		jsonw.Recycle(prep[i].rec)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// prepared is what Commit works out for an item before its transaction.
type prepared struct {
	evID, vkID, leadID string
	evKey              []byte
	delivIDs           []string // per it.Sinks
	// rec is the event record as it is stored when the event keeps the
	// status it came with (it is not stale); the transaction encodes
	// another one only when it is.
	rec []byte
}

func prepare(source string, it *Item, rawKey []byte, received int64) prepared {
	ev := &it.Event
	p := prepared{evID: lead.EventID(ev.Key)}
	if ev.VersionKey != "" {
		p.vkID = "vk_" + lead.EventID(ev.VersionKey)[3:]
	}
	if ev.Lead != nil && ev.EntityKey != "" {
		p.leadID = lead.LeadID(ev.EntityKey)
	}
	p.evKey = timeKey(time.Unix(0, received), p.evID)
	if ev.Status == lead.StatusAccepted {
		p.delivIDs = make([]string, len(it.Sinks))
		for i, sink := range it.Sinks {
			p.delivIDs[i] = lead.DeliveryID(ev.Key, sink)
		}
	}
	p.rec = p.record(source, it, rawKey, received, ev.Status, ev.Reason).encodePooled()
	return p
}

// record is the event record of it with the given outcome.
func (p *prepared) record(source string, it *Item, rawKey []byte, received int64, status, reason string) *eventRecord {
	erec := &eventRecord{EventID: p.evID, Source: source, Status: status, Reason: reason,
		LeadID: p.leadID, Key: it.Event.Key, Raw: rawKey, Received: received, Via: it.Via, VK: p.vkID}
	if status == lead.StatusAccepted {
		erec.Sinks = it.Sinks
		erec.Lead = it.LeadJSON
	}
	return erec
}

func (s *Store) commitItem(tx *bolt.Tx, source string, it *Item, p *prepared, rawKey []byte, received int64) (Result, error) {
	ev := &it.Event
	evID := p.evID
	// A duplicate writes no event of its own, but status counts it, and
	// the count outlives a restart.
	if pk, prev := s.dedupeGet(tx, evID); prev != nil {
		s.stats.count(source, lead.StatusDuplicate)
		return duplicateOf(pk, prev, evID), nil
	}
	vkID := p.vkID
	if vkID != "" {
		if pk, prev := s.dedupeGet(tx, vkID); prev != nil {
			// The same change seen another way (webhook and poll): remember
			// this event key too, so its retries are quick duplicates.
			r := duplicateOf(pk, prev, evID)
			s.stats.count(source, lead.StatusDuplicate)
			rec := dedupeRecord{EventID: evID, Status: lead.StatusDuplicate, LeadID: r.LeadID, Received: received}
			return r, s.dedupePut(tx, &rec)
		}
	}

	r := Result{EventID: evID, Status: ev.Status, Reason: ev.Reason, LeadID: p.leadID}
	single := ev.Version.IsZero() && ev.Key == ev.EntityKey && ev.VersionKey == ""
	if r.Status == lead.StatusAccepted {
		stale, err := applyVersion(tx, r.LeadID, evID, ev.Version, single)
		if err != nil {
			return r, err
		}
		if stale {
			r.Status, r.Reason = lead.StatusStale, "older than the version already applied"
		}
	}
	evKey := p.evKey
	if r.Status == lead.StatusAccepted {
		for i, sink := range it.Sinks {
			if err := enqueue(tx, sink, r.LeadID, evID, p.delivIDs[i], nil, evKey, received, single); err != nil {
				return r, err
			}
		}
		r.Sinks = it.Sinks
	}

	rec := p.rec
	if r.Status != ev.Status {
		var err error
		if rec, err = p.record(source, it, rawKey, received, r.Status, r.Reason).encode(); err != nil {
			return r, err
		}
	}
	if err := appendBucket(tx, bEvents).Put(evKey, rec); err != nil {
		return r, err
	}
	drec := dedupeRecord{EventID: evID, Status: r.Status, LeadID: r.LeadID, Received: received, EventKey: evKey}
	if err := s.dedupePut(tx, &drec); err != nil {
		return r, err
	}
	if vkID != "" {
		vrec := drec
		vrec.EventID = vkID
		if err := s.dedupePut(tx, &vrec); err != nil {
			return r, err
		}
	}
	s.stats.add(source, r.Status, received)
	return r, nil
}

func duplicateOf(k, prev []byte, evID string) Result {
	rec, _ := readDedupe(k, prev) // a damaged record still means "seen"
	return Result{EventID: evID, LeadID: rec.LeadID, Status: lead.StatusDuplicate}
}

// applyVersion records evID as the newest version of leadID unless a newer
// one was applied already, in which case it reports stale. An entity that
// is its own single event (a Hemnet contact: no version, and the event key
// is the entity key) can have no other version, so nothing is recorded for
// it: that saves a write at a random key on every such commit.
func applyVersion(tx *bolt.Tx, leadID, evID string, v time.Time, single bool) (stale bool, err error) {
	if single {
		return false, nil
	}
	b := tx.Bucket(bVersions)
	var ver int64
	if !v.IsZero() {
		ver = v.UnixNano()
	}
	if prev := b.Get([]byte(leadID)); prev != nil {
		var rec versionRecord
		if json.Unmarshal(prev, &rec) == nil {
			if ver != 0 && rec.Version > ver {
				return true, nil
			}
			ver = keptVersion(ver, rec.Version)
		}
	}
	return false, putJSON(b, []byte(leadID), &versionRecord{Version: ver, EventID: evID})
}

// keptVersion is the version to record when an event of version ver (0:
// none) is applied over one of version prev. An event without a version says
// nothing of order, so it is applied, but the newest version seen stays the
// bar: an older versioned event that arrives after it is still stale.
func keptVersion(ver, prev int64) int64 {
	if ver == 0 {
		return prev
	}
	return ver
}

// enqueue puts one outbox entry due at `due`, replacing the entity's pending
// entry on that sink if there is one: a newer version supersedes an older one
// not yet sent. (If the older one is being delivered right now, the
// dispatcher holds the new one back until that attempt ends, so one entity on
// one sink is delivered in order.) The entry carries the lead JSON (body), or
// names the event record that holds it (ref): intake stores a lead once, in
// its event, rather than once more per sink.
//
// An entity that is its own single event (see applyVersion) gets no newer
// version to replace it, so it is not indexed in pending: that saves a write
// at a random key per sink on every such commit.
func enqueue(tx *bolt.Tx, sink, leadID, evID, delivID string, body, ref []byte, due int64, single bool) error {
	sb, err := sinkBuckets(tx, sink)
	if err != nil {
		return err
	}
	sb.outbox.FillPercent = 0.95
	e := Entry{ID: delivID, LeadID: leadID, EventID: evID, Created: due, Ref: ref, Lead: body}
	if single {
		return putJSON(sb.outbox, timeKey(time.Unix(0, due), delivID), &e)
	}
	if old := sb.pending.Get([]byte(leadID)); old != nil {
		// The entry replaced may be waiting for the sink (backoff after a
		// 5xx, a Retry-After): the newer version goes to the same sink and
		// waits as long.
		if len(old) >= 8 {
			due = max(due, int64(binary.BigEndian.Uint64(old[:8])))
		}
		if err := sb.outbox.Delete(old); err != nil {
			return err
		}
	}
	key := timeKey(time.Unix(0, due), delivID)
	if err := putJSON(sb.outbox, key, &e); err != nil {
		return err
	}
	return sb.pending.Put([]byte(leadID), key)
}

// statBatch gathers the counts of one write transaction's events, which
// flush adds to the stats bucket once at its end: two writes per source and
// status per commit rather than two per event. Only the writer goroutine
// touches it (see writer.commit), between reset and flush of one
// transaction.
type statBatch struct {
	n    map[statKey]uint64 // events by source and status
	last map[string]int64   // source → newest received time
}

// statKey is a key of the stats bucket: source + "\x00" + status. (A
// struct rather than the joined string: no allocation per event.)
type statKey struct{ source, status string }

func (b *statBatch) reset() {
	if b.n == nil {
		b.n, b.last = make(map[statKey]uint64), make(map[string]int64)
	}
	clear(b.n)
	clear(b.last)
}

// add counts one event of status for source, received at `at`.
func (b *statBatch) add(source, status string, at int64) {
	b.count(source, status)
	if at > b.last[source] {
		b.last[source] = at
	}
}

// count counts one event of status for source without making it the
// source's last event (a duplicate: the event it repeats was that).
func (b *statBatch) count(source, status string) { b.n[statKey{source, status}]++ }

// flush adds the counts to the stats bucket and remembers each source's
// last event.
func (b *statBatch) flush(tx *bolt.Tx) error {
	sb := tx.Bucket(bStats)
	for sk, add := range b.n {
		k := sk.source + "\x00" + sk.status
		var n uint64
		if v := sb.Get([]byte(k)); len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		if err := sb.Put([]byte(k), u64(n+add)); err != nil {
			return err
		}
	}
	for source, at := range b.last {
		k := []byte(source + "\x00last")
		if v := sb.Get(k); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) > at {
			continue
		}
		if err := sb.Put(k, u64(uint64(at))); err != nil {
			return err
		}
	}
	return nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	var data []byte
	var err error
	if e, ok := v.(interface{ encode() ([]byte, error) }); ok {
		data, err = e.encode()
	} else {
		data, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

// appendBucket returns a bucket whose keys grow with time (raw, events,
// outbox): nearly every insert lands at its end, so pages are split full
// rather than half full (bbolt's default suits random inserts), which
// halves the pages each commit writes and the file holds.
func appendBucket(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	b.FillPercent = 0.95
	return b
}
