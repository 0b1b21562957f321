package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Due returns up to limit entries of sink that are due at now, in due order,
// skipping those for which skip returns true (the dispatcher's in-flight
// entries). It also returns when the first entry not yet due will be (zero if
// none). It seeks from the start of the time-ordered outbox and stops at the
// first entry in the future: it never scans the bucket.
func (s *Store) Due(sink string, now time.Time, limit int, skip func(*Entry) bool) ([]Entry, time.Time, error) {
	var out []Entry
	var next time.Time
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(outboxBucket(sink))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		nowKey := uint64(now.UnixNano())
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if binary.BigEndian.Uint64(k[:8]) > nowKey {
				next = time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])))
				return nil
			}
			if len(out) >= limit {
				return nil
			}
			var e Entry
			if err := decodeEntry(v, &e); err != nil {
				return fmt.Errorf("outbox %s: decode %x: %w", sink, k, err)
			}
			e.Key = bytes.Clone(k)
			if skip != nil && skip(&e) {
				continue
			}
			if len(e.Ref) > 0 && len(e.Lead) == 0 {
				// Left empty when the event is gone (erased): the
				// dispatcher buries the entry saying so.
				e.Lead = leadOf(tx.Bucket(bEvents).Get(e.Ref))
			}
			out = append(out, e)
		}
		return nil
	})
	return out, next, err
}

// leadOf copies the lead JSON out of an events record: the encoder writes it
// last, after `,"lead":`, a sequence the JSON strings before it cannot hold
// (their quotes are escaped). nil when v is nil or holds no lead.
func leadOf(v []byte) json.RawMessage {
	_, lead, ok := splitLead(v)
	if !ok {
		var er eventRecord
		if json.Unmarshal(v, &er) != nil {
			return nil
		}
		return er.Lead
	}
	return bytes.Clone(lead)
}

// Ack removes a delivered entry. It is asynchronous: done is called on the
// writer goroutine once the removal is durable (it must not block).
func (s *Store) Ack(sink string, e *Entry, done func(error)) error {
	key := bytes.Clone(e.Key)
	return s.updateAsync(func(tx *bolt.Tx) error {
		sb, err := sinkBuckets(tx, sink)
		if err != nil {
			return err
		}
		if err := sb.outbox.Delete(key); err != nil {
			return err
		}
		return dropPending(sb, e.LeadID, key)
	}, done)
}

// Reschedule moves e to due, counting the attempt and keeping its last error.
// If e was superseded meanwhile by a newer version of its entity, e is simply
// dropped: the newer entry will be delivered instead.
//
// The caller sets e.Tried to the time of the attempt that failed.
func (s *Store) Reschedule(sink string, e *Entry, due time.Time, lastErr string, status int, done func(error)) error {
	old := bytes.Clone(e.Key)
	next := *e
	next.Attempt++
	next.LastError, next.LastStatus = lastErr, status
	return s.updateAsync(func(tx *bolt.Tx) error {
		sb, err := sinkBuckets(tx, sink)
		if err != nil {
			return err
		}
		cur := sb.outbox.Get(old)
		if cur == nil {
			// Superseded while it was tried (or dropped by an operator):
			// the lead's newer version, held back meanwhile, goes to the
			// same sink and waits as long as this attempt was told to.
			return deferPending(sb, e.LeadID, due)
		}
		// Keep the entry as stored: a prune may have copied the lead into it
		// since it was read, because its event was about to go.
		var stored Entry
		if decodeEntry(cur, &stored) == nil {
			next.Ref = stored.Ref
		}
		if err := sb.outbox.Delete(old); err != nil {
			return err
		}
		key := timeKey(due, next.ID)
		if err := putJSON(sb.outbox, key, &next); err != nil {
			return err
		}
		// The entry is its lead's live one on this sink (a superseded one
		// is gone, above), so pending names it from now on: also when it is
		// a single event's, which intake does not index (see enqueue), so
		// that a replay finds it to replace.
		if p := sb.pending.Get([]byte(e.LeadID)); p == nil || bytes.Equal(p, old) {
			return sb.pending.Put([]byte(e.LeadID), key)
		}
		return nil
	}, done)
}

// deferPending moves the entry pending names for leadID to due, unless it
// is due later already. (It is not in flight: the dispatcher tries one entry
// of a lead at a time, and this is called as the lead's attempt ends.)
func deferPending(sb sinkB, leadID string, due time.Time) error {
	p := sb.pending.Get([]byte(leadID))
	if len(p) < 8 || int64(binary.BigEndian.Uint64(p[:8])) >= due.UnixNano() {
		return nil
	}
	p = bytes.Clone(p)
	v := sb.outbox.Get(p)
	if v == nil {
		return nil
	}
	v = bytes.Clone(v)
	if err := sb.outbox.Delete(p); err != nil {
		return err
	}
	key := timeKey(due, string(p[8:]))
	if err := sb.outbox.Put(key, v); err != nil {
		return err
	}
	return sb.pending.Put([]byte(leadID), key)
}

// Bury moves e to the sink's dead letters with why it gave up.
func (s *Store) Bury(sink string, e *Entry, reason string, status int, response string, done func(error)) error {
	old := bytes.Clone(e.Key)
	d := DeadLetter{Entry: *e, Sink: sink, Reason: reason, Status: status, Response: response}
	d.Attempt++
	d.LastError, d.LastStatus = reason, status
	return s.updateAsync(func(tx *bolt.Tx) error {
		sb, err := sinkBuckets(tx, sink)
		if err != nil {
			return err
		}
		if sb.outbox.Get(old) == nil {
			return nil // superseded: the newer version is still queued
		}
		if err := sb.outbox.Delete(old); err != nil {
			return err
		}
		if err := dropPending(sb, e.LeadID, old); err != nil {
			return err
		}
		d.DeadAt = s.now().UnixNano()
		return putJSON(sb.dead, []byte(d.ID), &d)
	}, done)
}

func dropPending(sb sinkB, leadID string, key []byte) error {
	if p := sb.pending.Get([]byte(leadID)); p != nil && bytes.Equal(p, key) {
		return sb.pending.Delete([]byte(leadID))
	}
	return nil
}

// DeadLetters lists sink's dead letters (all sinks when sink is "").
func (s *Store) DeadLetters(sink string) ([]DeadLetter, error) {
	var out []DeadLetter
	err := s.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			n, ok := bytes.CutPrefix(name, []byte("dead/"))
			if !ok || (sink != "" && string(n) != sink) {
				return nil
			}
			return b.ForEach(func(k, v []byte) error {
				var d DeadLetter
				if err := json.Unmarshal(v, &d); err != nil {
					return fmt.Errorf("dead letter %s: %w", k, err)
				}
				out = append(out, d)
				return nil
			})
		})
	})
	return out, err
}

// RetryDead moves dead letters back into their outboxes, due now, with their
// attempt count reset. ids empty means every dead letter of sink (or of all
// sinks when sink is ""). It returns how many moved.
func (s *Store) RetryDead(sink string, ids []string) (int, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var n int
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		var names [][]byte
		tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if s, ok := bytes.CutPrefix(name, []byte("dead/")); ok && (sink == "" || string(s) == sink) {
				names = append(names, bytes.Clone(s))
			}
			return nil
		})
		now := s.now()
		for _, sn := range names {
			sb, err := sinkBuckets(tx, string(sn))
			if err != nil {
				return err
			}
			var moved [][]byte
			err = sb.dead.ForEach(func(k, v []byte) error {
				if len(want) > 0 && !want[string(k)] {
					return nil
				}
				var d DeadLetter
				if err := json.Unmarshal(v, &d); err != nil {
					return err
				}
				e := d.Entry
				e.Attempt, e.Created, e.Tried = 0, now.UnixNano(), 0
				if p := sb.pending.Get([]byte(e.LeadID)); p != nil {
					return nil // a newer version is queued already; keep the letter
				}
				key := timeKey(now, e.ID)
				if err := putJSON(sb.outbox, key, &e); err != nil {
					return err
				}
				moved = append(moved, bytes.Clone(k))
				return sb.pending.Put([]byte(e.LeadID), key)
			})
			if err != nil {
				return err
			}
			for _, k := range moved {
				if err := sb.dead.Delete(k); err != nil {
					return err
				}
			}
			n += len(moved)
		}
		return nil
	})
	return n, err
}
