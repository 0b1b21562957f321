package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/leadsync/leadsync/sync/lead"
	bolt "go.etcd.io/bbolt"
)

// Statuses Replay reports besides those of Commit.
const (
	// StatusReplayed: the re-mapped lead differs from the stored one (or
	// the event had no lead before) and was queued again, under a new
	// delivery id, for its sinks.
	StatusReplayed = "replayed"
	// StatusUnchanged: the re-mapped lead is the stored one; nothing queued.
	StatusUnchanged = "unchanged"
)

// EventInfo is one event committed from a stored raw request.
type EventInfo struct {
	EventID string   `json:"event_id"`
	Status  string   `json:"status"`
	Reason  string   `json:"reason,omitempty"`
	LeadID  string   `json:"lead_id,omitempty"`
	Via     string   `json:"via,omitempty"`
	Sinks   []string `json:"sinks,omitempty"`
}

// rawPage is how many raw requests Raw reads per read transaction.
const rawPage = 128

// Raw calls fn for every stored raw request received at or after
// fromReceived (zero: all), of source (""= every source), oldest first, with
// the events committed from it. r.Key is set (as is key), so that fn may
// re-map r and pass it to Replay. fn runs outside any transaction, so it may
// call Replay or any other method; an error from fn stops the walk and is
// returned. Requests committed during the walk may or may not be seen.
func (s *Store) Raw(fromReceived time.Time, source string, fn func(key []byte, r RawRequest, events []EventInfo) error) error {
	type item struct {
		r  RawRequest
		ev []EventInfo
	}
	var after []byte
	for {
		var items []item
		var last []byte
		err := s.view(func(tx *bolt.Tx) error {
			items, last = items[:0], nil
			c := tx.Bucket(bRaw).Cursor()
			var k, v []byte
			switch {
			case after != nil:
				if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			case fromReceived.Unix() > 0:
				k, v = c.Seek(u64(uint64(fromReceived.UnixNano())))
			default:
				k, v = c.First()
			}
			for visited := 0; k != nil && visited < rawPage; k, v = c.Next() {
				visited++
				last = k
				var r RawRequest
				if err := decodeRaw(v, &r); err != nil {
					return fmt.Errorf("raw %x: %w", k, err)
				}
				if source != "" && r.Source != source {
					continue
				}
				r.Key = bytes.Clone(k)
				items = append(items, item{r: r, ev: eventsOfRaw(tx, k)})
			}
			last = bytes.Clone(last)
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := fn(it.r.Key, it.r, it.ev); err != nil {
				return err
			}
		}
		if last == nil {
			return nil
		}
		after = last
	}
}

// eventsOfRaw finds the events committed from the raw request at key: they
// share its received time, the first 8 bytes of both keys, so this is a
// seek and a short walk.
func eventsOfRaw(tx *bolt.Tx, key []byte) []EventInfo {
	if len(key) < 8 {
		return nil
	}
	var out []EventInfo
	prefix := key[:8]
	c := tx.Bucket(bEvents).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var er eventRecord
		if json.Unmarshal(v, &er) != nil || !bytes.Equal(er.Raw, key) {
			continue
		}
		out = append(out, EventInfo{EventID: er.EventID, Status: er.Status, Reason: er.Reason,
			LeadID: er.LeadID, Via: er.Via, Sinks: er.Sinks})
	}
	return out
}

// RawByEvent returns the raw request the event eventID was committed from,
// with its Key set. ErrNotFound when the event, or its request, is not
// stored (pruned, erased, or a duplicate whose request was not kept).
func (s *Store) RawByEvent(eventID string) (RawRequest, error) {
	var r RawRequest
	err := s.view(func(tx *bolt.Tx) error {
		dk, d := s.dedupeGet(tx, eventID)
		if d == nil {
			return fmt.Errorf("event %s: %w", eventID, ErrNotFound)
		}
		dr, err := readDedupe(dk, d)
		if err != nil {
			return fmt.Errorf("event %s: %w", eventID, err)
		}
		ev := tx.Bucket(bEvents).Get(dr.EventKey)
		if len(dr.EventKey) == 0 || ev == nil {
			return fmt.Errorf("event %s: raw request: %w", eventID, ErrNotFound)
		}
		var er eventRecord
		if err := json.Unmarshal(ev, &er); err != nil {
			return fmt.Errorf("event %s: %w", eventID, err)
		}
		raw := tx.Bucket(bRaw).Get(er.Raw)
		if raw == nil {
			return fmt.Errorf("event %s: raw request: %w", eventID, ErrNotFound)
		}
		if err := decodeRaw(raw, &r); err != nil {
			return fmt.Errorf("event %s: raw request: %w", eventID, err)
		}
		r.Key = bytes.Clone(er.Raw)
		return nil
	})
	return r, err
}

// Replay commits the events re-mapped from an already stored raw request
// (in.Raw as returned by Raw or RawByEvent, with its Key), after a mapping
// fix. For each item, in one durable transaction:
//
//   - an event never committed before (a body once quarantined whole now
//     yields real events) is committed as Commit would, linked to the stored
//     request, and reported StatusReplayed when accepted;
//   - an accepted event already committed is compared with the stored lead
//     of its entity, ignoring received_at and source.via: the same →
//     StatusUnchanged; different, or not stored (the event was quarantined,
//     ignored or stale) → the lead is replaced and queued for each of its
//     sinks with a new delivery id, derived from the event key and the new
//     lead's hash, so a sink can tell the corrected lead from the first
//     delivery and a second replay of the same fix is not a third id; the
//     event's records now say accepted → StatusReplayed;
//   - newest wins: when a newer version of the entity was applied (by
//     Version, or by receive time when either is unordered), the event is
//     StatusStale and nothing changes;
//   - an event that is not accepted now is reported with its status and
//     changes nothing: replay never withdraws a lead.
//
// The raw request is not stored again.
func (s *Store) Replay(in *Incoming) ([]Result, error) {
	key := in.Raw.Key
	if len(key) < 8 {
		return nil, errors.New("replay: the raw request has no key (take it from Raw or RawByEvent)")
	}
	received := in.Raw.Received
	if received == 0 {
		received = int64(binary.BigEndian.Uint64(key[:8]))
	}
	now := s.now().UnixNano()
	var res []Result
	err := s.update(func(tx *bolt.Tx) error {
		res = make([]Result, len(in.Items)) // fresh on every run: the op may run twice
		if tx.Bucket(bRaw).Get(key) == nil {
			return fmt.Errorf("replay: raw request %x: %w", key, ErrNotFound)
		}
		for i := range in.Items {
			r, err := s.replayItem(tx, in.Raw.Source, &in.Items[i], key, received, now)
			if err != nil {
				return fmt.Errorf("replay event: %w", err)
			}
			res[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Store) replayItem(tx *bolt.Tx, source string, it *Item, rawKey []byte, received, now int64) (Result, error) {
	ev := &it.Event
	evID := lead.EventID(ev.Key)
	prevK, prevV := s.dedupeGet(tx, evID)
	if prevV == nil {
		p := prepare(source, it, rawKey, received) // replay is rare: in the transaction is fine
		r, err := s.commitItem(tx, source, it, &p, rawKey, received)
		if r.Status == lead.StatusAccepted {
			r.Status = StatusReplayed
		}
		return r, err
	}
	prev, err := readDedupe(prevK, prevV)
	if err != nil {
		return Result{}, fmt.Errorf("dedupe %s: %w", evID, err)
	}
	r := Result{EventID: evID, Status: ev.Status, Reason: ev.Reason}
	if ev.Status != lead.StatusAccepted {
		return r, nil
	}
	if ev.Lead == nil || ev.EntityKey == "" { // accepted but names no entity: nothing to compare or apply
		r.Status, r.Reason = StatusUnchanged, "no entity"
		return r, nil
	}
	r.LeadID = lead.LeadID(ev.EntityKey)
	if s.newerApplied(tx, r.LeadID, evID, ev.Version, prev.Received) {
		r.Status, r.Reason = lead.StatusStale, "older than the version already applied"
		return r, nil
	}
	eb := tx.Bucket(bEvents)
	if len(prev.EventKey) > 0 {
		var er eventRecord
		if v := eb.Get(prev.EventKey); v != nil && json.Unmarshal(v, &er) == nil &&
			er.Lead != nil && sameLead(er.Lead, it.LeadJSON) {
			r.Status = StatusUnchanged
			return r, nil
		}
	}
	// Not stale (newerApplied said so, and it is stricter than
	// applyVersion's own check): record this event as the newest version.
	if _, err := applyVersion(tx, r.LeadID, evID, ev.Version, false); err != nil {
		return r, err
	}
	sum := sha256.Sum256(it.LeadJSON)
	tag := hex.EncodeToString(sum[:])[:8]
	// The lead's own single event (one whose key is its entity's, as a
	// Hemnet contact's) may have an entry waiting that pending does not
	// name (see enqueue): the replay's entry replaces it, whichever event is
	// replayed onto the lead.
	single := int64(-1)
	if k, v := s.dedupeGet(tx, lead.EventID(ev.EntityKey)); v != nil {
		if rec, err := readDedupe(k, v); err == nil {
			single = rec.Received
		}
	}
	for _, sink := range it.Sinks {
		if single >= 0 {
			key := timeKey(time.Unix(0, single), lead.DeliveryID(ev.EntityKey, sink))
			if err := dropUnindexed(tx, sink, r.LeadID, key); err != nil {
				return r, err
			}
		}
		id := lead.DeliveryID(ev.Key+"\x00replay\x00"+tag, sink)
		if err := enqueue(tx, sink, r.LeadID, evID, id, it.LeadJSON, nil, now, false); err != nil {
			return r, err
		}
	}
	r.Status, r.Reason, r.Sinks = StatusReplayed, "", it.Sinks

	// The event's records now say what it became, so a provider retry is
	// answered with the lead id and status shows the event accepted.
	if len(prev.EventKey) == 0 {
		return r, nil // an alias of another event: it has no records of its own
	}
	if v := eb.Get(prev.EventKey); v != nil {
		var er eventRecord
		if json.Unmarshal(v, &er) == nil {
			er.Status, er.Reason, er.LeadID, er.Sinks = lead.StatusAccepted, "", r.LeadID, it.Sinks
			er.Lead = it.LeadJSON
			if err := putJSON(eb, prev.EventKey, &er); err != nil {
				return r, err
			}
		}
	}
	prev.Status, prev.LeadID = lead.StatusAccepted, r.LeadID
	return r, s.dedupePut(tx, &prev)
}

// dropUnindexed removes the entry at key, a single event's as intake
// queued it (due when received, not indexed in pending: see enqueue), when
// it is still there and is an entry of leadID: the replay's entry, which
// enqueue then puts, replaces it. Whatever pending names (the entry at key
// itself once it was tried and rescheduled, see Reschedule, or another
// event's entry for the lead) enqueue replaces.
func dropUnindexed(tx *bolt.Tx, sink, leadID string, key []byte) error {
	sb, err := sinkBuckets(tx, sink)
	if err != nil {
		return err
	}
	v := sb.outbox.Get(key)
	if v == nil {
		return nil
	}
	var e Entry
	if decodeEntry(v, &e) != nil || e.LeadID != leadID {
		return nil
	}
	return sb.outbox.Delete(key)
}

// newerApplied reports whether a version of leadID newer than the event
// evID (received at received, with version v) was applied already.
func (s *Store) newerApplied(tx *bolt.Tx, leadID, evID string, v time.Time, received int64) bool {
	pv := tx.Bucket(bVersions).Get([]byte(leadID))
	if pv == nil {
		return false
	}
	var rec versionRecord
	if json.Unmarshal(pv, &rec) != nil || rec.EventID == evID {
		return false
	}
	if !v.IsZero() && rec.Version != 0 && rec.Version != v.UnixNano() {
		return rec.Version > v.UnixNano()
	}
	// Unordered, or the same version (an event without one, applied after
	// this one, keeps its version as the bar: see keptVersion): the one
	// received later is the newer.
	dk, d := s.dedupeGet(tx, rec.EventID)
	return d != nil && int64(binary.BigEndian.Uint64(dk[:8])) > received
}

// sameLead compares two lead JSONs, ignoring what differs between a first
// mapping and a replay of the same request (received_at, source.via).
func sameLead(a, b []byte) bool {
	norm := func(p []byte) (map[string]any, bool) {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.UseNumber()
		if dec.Decode(&m) != nil {
			return nil, false
		}
		delete(m, "received_at")
		if src, ok := m["source"].(map[string]any); ok {
			delete(src, "via")
		}
		return m, true
	}
	ma, ok1 := norm(a)
	mb, ok2 := norm(b)
	return ok1 && ok2 && reflect.DeepEqual(ma, mb)
}
