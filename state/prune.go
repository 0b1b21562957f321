package state

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/leadsync/leadsync/sync/lead"
	bolt "go.etcd.io/bbolt"
)

// Prune applies the retention: it deletes what was received before
// olderThan and is no longer needed for delivery —
//
//   - raw requests and events (both keyed by received time: a seek from the
//     start that stops at the first younger key, never a scan of the rest),
//   - the dedupe records of those events (the event id, its version key and
//     the aliases of later sightings, all named by the events record), so a
//     provider retry after the retention is taken as new,
//   - dead letters that died before olderThan,
//   - delivered leads: no pending outbox entry in any sink, no dead letter,
//     and last event older than olderThan; with their versions record, as
//     the entity is forgotten whole.
//
// Pending deliveries are kept however old: retention never loses a lead that
// has not reached its sinks. Each step is one writer transaction of at most
// batch keys (default 256 when batch <= 0), so intake interleaves with a
// prune of any size. It returns how many records went, by bucket ("raw",
// "events", "dedupe", "dead", "leads", "versions"). bbolt keeps the freed
// pages for reuse; the file shrinks only with Compact or Rewrite.
func (s *Store) Prune(olderThan time.Time, batch int) (map[string]int, error) {
	counts := map[string]int{"raw": 0, "events": 0, "dedupe": 0, "dead": 0, "leads": 0, "versions": 0}
	if olderThan.Unix() <= 0 { // nothing can be older (and UnixNano would overflow)
		return counts, nil
	}
	cut := olderThan.UnixNano()
	stop := u64(uint64(cut)) // keys sort by their first 8 bytes: every key below this is older

	// Dead letters first, so that a lead whose only dead letter goes now can
	// go too.
	sinks, err := s.bucketsWithPrefix("dead/")
	if err != nil {
		return counts, err
	}
	for _, sink := range sinks {
		n, _, err := s.run(sweep{bucket: deadBucket(sink), batch: batch,
			match: func(_ *bolt.Tx, _, v []byte, _ map[string]int) (bool, error) {
				var d DeadLetter
				if json.Unmarshal(v, &d) != nil {
					return false, nil // unreadable: leave it to an operator
				}
				return d.DeadAt < cut, nil
			}})
		counts["dead"] += n
		if err != nil {
			return counts, err
		}
	}

	n, _, err := s.run(sweep{bucket: bRaw, stop: stop, batch: batch,
		match: func(*bolt.Tx, []byte, []byte, map[string]int) (bool, error) { return true, nil }})
	counts["raw"] += n
	if err != nil {
		return counts, err
	}

	n, extra, err := s.run(sweep{bucket: bEvents, stop: stop, batch: batch,
		match: func(tx *bolt.Tx, _, v []byte, n map[string]int) (bool, error) {
			var er eventRecord
			if json.Unmarshal(v, &er) != nil {
				return true, nil
			}
			dd := tx.Bucket(bDedupe)
			for _, id := range append([]string{er.EventID, er.VK}, er.Aliases...) {
				if id == "" || dd.Get([]byte(id)) == nil {
					continue
				}
				if err := dd.Delete([]byte(id)); err != nil {
					return false, err
				}
				n["dedupe"]++
			}
			return true, nil
		}})
	counts["events"] += n
	addCounts(counts, extra)
	if err != nil {
		return counts, err
	}

	// Leads are keyed by id, not time, so this one is a walk over the whole
	// bucket — one record per entity, far fewer than events — in steps.
	var deadOf map[string]bool // lead ids with a dead letter, as of deadTx
	var deadTx *bolt.Tx
	n, extra, err = s.run(sweep{bucket: bLeads, batch: batch,
		match: func(tx *bolt.Tx, k, v []byte, n map[string]int) (bool, error) {
			if lastEvent(tx, k, v) >= cut {
				return false, nil
			}
			for _, sink := range rootNames(tx, "pending/") {
				if tx.Bucket(pendingBucket(sink)).Get(k) != nil {
					return false, nil
				}
			}
			if deadTx != tx { // once per step, and only when a lead is old and delivered
				deadOf, deadTx = deadLeads(tx), tx
			}
			if deadOf[string(k)] {
				return false, nil
			}
			vb := tx.Bucket(bVersions)
			if vb.Get(k) != nil {
				if err := vb.Delete(k); err != nil {
					return false, err
				}
				n["versions"]++
			}
			return true, nil
		}})
	counts["leads"] += n
	addCounts(counts, extra)
	return counts, err
}

// lastEvent is when the event that produced the stored lead k was received:
// from its versions record and that event's dedupe record, or else the
// lead's own received_at. 0 when neither is known (its events are pruned).
func lastEvent(tx *bolt.Tx, k, leadJSON []byte) int64 {
	var last int64
	if v := tx.Bucket(bVersions).Get(k); v != nil {
		var vr versionRecord
		if json.Unmarshal(v, &vr) == nil && vr.EventID != "" {
			if d := tx.Bucket(bDedupe).Get([]byte(vr.EventID)); d != nil {
				var dr dedupeRecord
				if json.Unmarshal(d, &dr) == nil {
					last = dr.Received
				}
			}
		}
	}
	var l struct {
		ReceivedAt lead.Time `json:"received_at"`
	}
	if json.Unmarshal(leadJSON, &l) == nil && !l.ReceivedAt.IsZero() && l.ReceivedAt.UnixNano() > last {
		last = l.ReceivedAt.UnixNano()
	}
	return last
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

// addAlias notes on the events record named by prev (the dedupe record of a
// change first seen under another key) that evID is a later sighting of it,
// so that pruning the event prunes evID's dedupe record too.
func addAlias(tx *bolt.Tx, prev []byte, evID string) error {
	var rec dedupeRecord
	if json.Unmarshal(prev, &rec) != nil || len(rec.EventKey) == 0 {
		return nil
	}
	eb := tx.Bucket(bEvents)
	v := eb.Get(rec.EventKey)
	if v == nil {
		return nil
	}
	var er eventRecord
	if json.Unmarshal(v, &er) != nil || slices.Contains(er.Aliases, evID) {
		return nil
	}
	er.Aliases = append(er.Aliases, evID)
	return putJSON(eb, rec.EventKey, &er)
}
