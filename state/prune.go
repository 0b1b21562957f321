package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Prune applies the retention: it deletes what was received before
// olderThan and is no longer needed for delivery —
//
//   - raw requests and events (both keyed by received time: a seek from the
//     start that stops at the first younger key, never a scan of the rest),
//   - dedupe records received before olderThan (also keyed by received
//     time: an event's id and version key, and later sightings of a change
//     once they are as old), so a provider retry after the retention is
//     taken as new,
//   - the versions records of entities whose last event is older than
//     olderThan and that have no pending delivery and no dead letter (a
//     lead's JSON lives in its events, so it goes with them).
//
// Pending deliveries and dead letters are kept however old: retention never
// loses a lead that has not reached its sinks (a dead letter holds its lead,
// and goes only when an operator drops or erases it). Each step is one
// writer transaction of at most batch keys (default 256 when batch <= 0), so
// intake interleaves with a prune of any size. It returns how many records
// went, by bucket ("raw", "events", "dedupe", "versions"). bbolt keeps the
// freed pages for reuse; the file shrinks only with Compact or Rewrite.
func (s *Store) Prune(olderThan time.Time, batch int) (map[string]int, error) {
	counts := map[string]int{"raw": 0, "events": 0, "dedupe": 0, "versions": 0}
	if olderThan.Unix() <= 0 { // nothing can be older (and UnixNano would overflow)
		return counts, nil
	}
	cut := olderThan.UnixNano()
	stop := u64(uint64(cut)) // keys sort by their first 8 bytes: every key below this is older

	// Pending entries that name an event about to go get the lead copied
	// into them first (intake's entries hold only a reference).
	if err := s.materializeRefs(batch, func(ref []byte) bool { return bytes.Compare(ref, stop) < 0 }); err != nil {
		return counts, err
	}

	n, _, err := s.run(sweep{bucket: bRaw, stop: stop, batch: batch,
		match: func(*bolt.Tx, []byte, []byte, map[string]int) (bool, error) { return true, nil }})
	counts["raw"] += n
	if err != nil {
		return counts, err
	}

	n, _, err = s.run(sweep{bucket: bEvents, stop: stop, batch: batch,
		match: func(*bolt.Tx, []byte, []byte, map[string]int) (bool, error) { return true, nil }})
	counts["events"] += n
	if err != nil {
		return counts, err
	}
	// Dedupe records are keyed by received time too: those of the events
	// above (their ids and version keys), and the later sightings of a
	// change once they are as old.
	n, _, err = s.run(sweep{bucket: bDedupe, stop: stop, batch: batch,
		match:   func(*bolt.Tx, []byte, []byte, map[string]int) (bool, error) { return true, nil },
		deleted: func(k, _ []byte) { s.idx.remove(k) }})
	counts["dedupe"] += n
	if err != nil {
		return counts, err
	}

	// Version records are keyed by lead id, not time, so this one is a walk
	// over the whole bucket — one record per versioned entity, far fewer
	// than events — in steps. An entity is forgotten once its last event is
	// older than the cut and it has nothing pending or dead.
	var deadOf map[string]bool // lead ids with a dead letter, as of deadTx
	var deadTx *bolt.Tx
	n, extra, err := s.run(sweep{bucket: bVersions, batch: batch,
		match: func(tx *bolt.Tx, k, v []byte, n map[string]int) (bool, error) {
			if s.lastEvent(tx, v) >= cut {
				return false, nil
			}
			for _, sink := range rootNames(tx, "pending/") {
				if tx.Bucket(pendingBucket(sink)).Get(k) != nil {
					return false, nil
				}
			}
			if deadTx != tx { // once per step, and only when an entity is old and delivered
				deadOf, deadTx = deadLeads(tx), tx
			}
			return !deadOf[string(k)], nil
		}})
	counts["versions"] += n
	addCounts(counts, extra)
	return counts, err
}

// materializeRefs copies the lead into every outbox entry, in every sink,
// whose Ref names an event record for which goes reports true (it is about
// to be deleted), so that the entry still has its lead to send.
func (s *Store) materializeRefs(batch int, goes func(ref []byte) bool) error {
	sinks, err := s.bucketsWithPrefix("outbox/")
	if err != nil {
		return err
	}
	for _, sink := range sinks {
		// Nearly always nothing is pending that long: look first, in read
		// transactions, and only then walk the outbox in writer steps.
		found := false
		if err := s.scan(outboxBucket(sink), batch, func(_, v []byte) bool {
			_, found = needsLead(v, goes)
			return !found
		}); err != nil {
			return err
		}
		if !found {
			continue
		}
		_, _, err := s.run(sweep{bucket: outboxBucket(sink), batch: batch,
			match: func(*bolt.Tx, []byte, []byte, map[string]int) (bool, error) { return false, nil },
			rewrite: func(tx *bolt.Tx, _, v []byte) ([]byte, error) {
				return materialize(tx, v, goes)
			}})
		if err != nil {
			return err
		}
	}
	return nil
}

// materialize returns outbox entry v with its lead copied in from the event
// record it names, if goes reports that record is about to be deleted; nil
// when v needs no change.
func materialize(tx *bolt.Tx, v []byte, goes func(ref []byte) bool) ([]byte, error) {
	e, ok := needsLead(v, goes)
	if !ok {
		return nil, nil // unreadable entries are left as they are, for an operator
	}
	l := leadOf(tx.Bucket(bEvents).Get(e.Ref))
	if l == nil {
		return nil, nil // gone already (erased): the dispatcher buries it saying so
	}
	e.Ref, e.Lead = nil, l
	return e.encode()
}

// needsLead decodes outbox entry v and reports whether it names an event
// that goes says is about to be deleted.
func needsLead(v []byte, goes func(ref []byte) bool) (Entry, bool) {
	var e Entry
	if !bytes.Contains(v, []byte(`"ref":`)) || decodeEntry(v, &e) != nil {
		return e, false
	}
	return e, len(e.Ref) > 0 && goes(e.Ref)
}

// lastEvent is when the event of versions record v was received, from its
// dedupe record; 0 when that is gone (pruned with its event).
func (s *Store) lastEvent(tx *bolt.Tx, v []byte) int64 {
	var vr versionRecord
	if json.Unmarshal(v, &vr) != nil || vr.EventID == "" {
		return 0
	}
	k, d := s.dedupeGet(tx, vr.EventID)
	if d == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(k[:8]))
}

// deadLeads is the set of lead ids that have a dead letter in any sink. Dead
// letters are keyed by delivery id, so this reads them all; there are few.
func deadLeads(tx *bolt.Tx) map[string]bool {
	out := map[string]bool{}
	for _, sink := range rootNames(tx, "dead/") {
		tx.Bucket(deadBucket(sink)).ForEach(func(_, v []byte) error {
			var d struct {
				LeadID string `json:"lead_id"`
			}
			if json.Unmarshal(v, &d) == nil {
				out[d.LeadID] = true
			}
			return nil
		})
	}
	return out
}
